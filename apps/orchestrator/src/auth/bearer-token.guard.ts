import { createHash, timingSafeEqual } from 'node:crypto';
import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { UnauthorizedError } from '@aiplane/server-kit';

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
    const header = context.switchToHttp().getRequest<Request>().headers.authorization ?? '';
    const match = /^Bearer (.+)$/.exec(header);
    if (!match?.[1] || !timingSafeEqual(digest(match[1]), this.expected)) {
      throw new UnauthorizedError('A valid "Authorization: Bearer <token>" header is required');
    }
    return true;
  }
}
