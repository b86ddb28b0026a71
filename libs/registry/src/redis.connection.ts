import { Redis, type RedisOptions } from 'ioredis';

/**
 * One connection factory so every app fails the same way when Redis is away: commands are not
 * queued forever (a request would hang) but fail fast and the client keeps reconnecting.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    connectTimeout: 5_000,
    retryStrategy: (attempt) => Math.min(200 * attempt, 2_000),
    ...options,
  });
}
