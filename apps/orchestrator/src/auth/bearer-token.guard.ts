import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { bearerTokenCheck, UnauthorizedError } from '@aiplane/server-kit';

const REFUSAL = 'A valid "Authorization: Bearer <token>" header is required';

/**
 * The orchestrator listens on a network other cluster users share: every request must carry the
 * deployment's bearer token, compared in constant time (bearerTokenCheck).
 */
@Injectable()
export class BearerTokenGuard implements CanActivate {
  private readonly check: ReturnType<typeof bearerTokenCheck>;

  constructor(token: string) {
    this.check = bearerTokenCheck(token);
  }

  canActivate(context: ExecutionContext): boolean {
    const refusal = this.refusal(context.switchToHttp().getRequest<Request>().headers.authorization);
    if (refusal !== undefined) throw new UnauthorizedError(refusal);
    return true;
  }

  /**
   * Why a request with this Authorization header is refused, or undefined when it carries the token.
   * The data-plane pass-through, which runs before Nest and so before this guard, asks it too.
   */
  refusal(authorization: string | undefined): string | undefined {
    return this.check(authorization) === undefined ? undefined : REFUSAL;
  }
}
