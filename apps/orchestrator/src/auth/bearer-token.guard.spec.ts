import type { ExecutionContext } from '@nestjs/common';
import { UnauthorizedError } from '@aiplane/server-kit';
import { BearerTokenGuard } from './bearer-token.guard';

function context(authorization?: string): ExecutionContext {
  const request = { headers: authorization === undefined ? {} : { authorization } };
  return { switchToHttp: () => ({ getRequest: () => request }) } as unknown as ExecutionContext;
}

describe('BearerTokenGuard', () => {
  const guard = new BearerTokenGuard('s3cret-token');

  it('lets a request with the token through', () => {
    expect(guard.canActivate(context('Bearer s3cret-token'))).toBe(true);
  });

  it.each([
    undefined,
    '',
    'Bearer',
    'Bearer wrong',
    'Basic s3cret-token',
    'bearer s3cret-token',
    'Bearer s3cret-token2',
  ])('refuses %p with a 401', (header) => {
    expect(() => guard.canActivate(context(header))).toThrow(UnauthorizedError);
  });
});
