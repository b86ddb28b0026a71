import { z } from 'zod';
import { blankToUndefined, booleanFromEnv } from './config';
import { redisUrlFromEnv } from './redis-url.parser';

const flag = z.preprocess(blankToUndefined, booleanFromEnv.default(false));

/**
 * The Redis settings every app that reads or writes records takes, spread into its schema so they
 * mean the same everywhere. The start-up check that enforces the two overrides is the registry's.
 */
export const redisEnvFields = {
  /** `redis://[user:password@]host[:port][/db]` or `unix://[user:password@]/abs/path.sock[?db=N]`. */
  REDIS_URL: redisUrlFromEnv.default('redis://127.0.0.1:6379'),
  /** Start against a Redis URL without a password; anyone who can reach it could rewrite records. */
  REDIS_ALLOW_NO_AUTH: flag,
  /** Start although `CONFIG GET maxmemory-policy` cannot be read (CONFIG renamed or denied by ACL). */
  REDIS_SKIP_POLICY_CHECK: flag,
};

/** What the registry's start-up check needs from an app's config. */
export interface RedisSettings {
  REDIS_URL: string;
  REDIS_ALLOW_NO_AUTH: boolean;
  REDIS_SKIP_POLICY_CHECK: boolean;
}
