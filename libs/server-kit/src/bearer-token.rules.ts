import { timingSafeEqual } from 'node:crypto';

/** Why an Authorization header does not carry the expected bearer token. */
export type BearerTokenProblem = 'missing' | 'not-bearer' | 'wrong';

const SCHEME = 'Bearer ';

/**
 * A check of `Authorization: Bearer <token>` against one expected token, run on every request of a
 * hop: the expected bytes are encoded once, and a presented token is compared in constant time when
 * its length is the expected one (the length itself is no secret: the hops' tokens are 32 random
 * bytes in hex). No hash and no regex per request.
 */
export function bearerTokenCheck(
  token: string,
): (authorization: string | undefined) => BearerTokenProblem | undefined {
  const expected = Buffer.from(token, 'utf8');
  return (authorization) => {
    if (!authorization) return 'missing';
    if (!authorization.startsWith(SCHEME) || authorization.length === SCHEME.length) return 'not-bearer';
    const presented = Buffer.from(authorization.slice(SCHEME.length), 'utf8');
    return presented.length === expected.length && timingSafeEqual(presented, expected) ? undefined : 'wrong';
  };
}
