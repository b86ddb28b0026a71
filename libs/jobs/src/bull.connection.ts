import type { Redis } from 'ioredis';
import { createRedis } from '@aiplane/registry';

/**
 * BullMQ's connection, with the registry's fail-fast policy except where BullMQ overrides it:
 * workers block on Redis and BullMQ requires `maxRetriesPerRequest: null`.
 */
export function createBullConnection(url: string): Redis {
  return createRedis(url, { maxRetriesPerRequest: null });
}
