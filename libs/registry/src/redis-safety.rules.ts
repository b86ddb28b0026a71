import { describeRedisTarget, type RedisTarget } from '@aiplane/config';
import { RedisSafetyError } from './redis-safety.errors';

/** The only policy under which Redis never drops a record to make room; any other may drop a running job's. */
export const REQUIRED_MAXMEMORY_POLICY = 'noeviction';

/** A URL without a password is refused unless the operator said, in so many words, that it is fine. */
export function noAuthRefusal(target: RedisTarget, allowNoAuth: boolean): RedisSafetyError | undefined {
  if (target.password !== undefined || allowNoAuth) return undefined;
  return new RedisSafetyError(
    'REDIS_NO_AUTH',
    `REDIS_URL (${describeRedisTarget(target)}) carries no password: any user who can reach that Redis could ` +
      "read the jobs' keys and rewrite their records. Give the password in the URL " +
      '(redis://:PASSWORD@host:port or unix://:PASSWORD@/path/redis.sock), or set REDIS_ALLOW_NO_AUTH=true ' +
      'to start anyway.',
  );
}

/** The server answered an unauthenticated client: the password in the URL protects nothing. */
export function openServerRefusal(target: RedisTarget): RedisSafetyError {
  return new RedisSafetyError(
    'REDIS_NO_AUTH',
    `the Redis at ${describeRedisTarget(target)} answers clients that give no password, so the one in ` +
      'REDIS_URL protects nothing: run it with requirepass (or ACL users and "user default off"), or set ' +
      'REDIS_ALLOW_NO_AUTH=true to start anyway.',
  );
}

/** `CONFIG GET maxmemory-policy` answered `policy` (undefined: it answered nothing usable). */
export function policyRefusal(target: RedisTarget, policy: string | undefined): RedisSafetyError | undefined {
  if (policy === REQUIRED_MAXMEMORY_POLICY) return undefined;
  if (policy === undefined)
    return policyUnknownRefusal(target, 'CONFIG GET maxmemory-policy returned no value');
  return new RedisSafetyError(
    'REDIS_EVICTION_POLICY',
    `the Redis at ${describeRedisTarget(target)} runs with maxmemory-policy ${policy}: when it fills up it ` +
      'drops keys silently, and a lost record makes the worker cancel a running job. Set ' +
      `maxmemory-policy ${REQUIRED_MAXMEMORY_POLICY} (redis-server --maxmemory-policy ${REQUIRED_MAXMEMORY_POLICY}).`,
  );
}

export function policyUnknownRefusal(target: RedisTarget, why: string): RedisSafetyError {
  return new RedisSafetyError(
    'REDIS_POLICY_UNKNOWN',
    `could not check that the Redis at ${describeRedisTarget(target)} runs with maxmemory-policy ` +
      `${REQUIRED_MAXMEMORY_POLICY} (${why}). If CONFIG is renamed or denied on purpose and you know the ` +
      'policy is noeviction, set REDIS_SKIP_POLICY_CHECK=true.',
  );
}

/** Redis's answer to a client without (valid) credentials. */
export function isAuthError(message: string): boolean {
  return /\b(NOAUTH|WRONGPASS)\b|invalid (username-)?password/i.test(message);
}
