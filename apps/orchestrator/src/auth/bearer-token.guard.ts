import { createHash, timingSafeEqual } from 'node:crypto';
import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { UnauthorizedError } from '@aiplane/server-kit';

const REFUSAL = 'A valid "Authorization: Bearer <token>" header is required';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * The orchestrator listens on a network other cluster users share: every request must carry the
 * deployment's bearer token. Comparing digests in constant time leaks neither the token's bytes
 * nor its length through timing.
 */
@Injectable()
export class BearerTokenGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(token: string) {
    this.expected = digest(token);
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
    const match = /^Bearer (.+)$/.exec(authorization ?? '');
    return match?.[1] && timingSafeEqual(digest(match[1]), this.expected) ? undefined : REFUSAL;
  }
}
