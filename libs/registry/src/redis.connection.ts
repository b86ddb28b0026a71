import { Redis, type RedisOptions } from 'ioredis';
import { parseRedisUrl, type RedisTarget } from '@aiplane/config';

/**
 * One connection factory so every app fails the same way when Redis is away: commands are not
 * queued forever (a request would hang) but fail fast and the client keeps reconnecting.
 * `url` is a `redis://` or `unix://` URL (see `parseRedisUrl`).
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis({
    ...redisOptionsOf(parseRedisUrl(url)),
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    connectTimeout: 5_000,
    retryStrategy: (attempt) => Math.min(200 * attempt, 2_000),
    ...options,
  });
}

/** ioredis options for a parsed target: ioredis itself only parses `redis://`. */
export function redisOptionsOf(target: RedisTarget): RedisOptions {
  const where =
    target.transport === 'unix' ? { path: target.path } : { host: target.host, port: target.port };
  return {
    ...where,
    db: target.db,
    ...(target.username === undefined ? {} : { username: target.username }),
    ...(target.password === undefined ? {} : { password: target.password }),
  };
}
