import type { Redis } from 'ioredis';
import type { ServiceRegistry } from '@aiplane/registry';
import { createLogger } from '@aiplane/server-kit';
import { storedService } from '@aiplane/testing';
import type { ProxyConfig } from '../proxy.config';
import { RoutingViewCache } from './routing-view.cache';

/** A registry whose reads count, and fail while `down`. */
function fakeRegistry(): {
  registry: ServiceRegistry;
  reads: () => number;
  setDown: (down: boolean) => void;
} {
  let reads = 0;
  let down = false;
  const registry = {
    activeIds: () => {
      reads += 1;
      return down ? Promise.reject(new Error('Redis is away')) : Promise.resolve(['7']);
    },
    idleIds: () => Promise.resolve([]),
    getMany: () => Promise.resolve([storedService('7')]),
    getGroupView: () => Promise.resolve(undefined),
  } as unknown as ServiceRegistry;
  return { registry, reads: () => reads, setDown: (value) => (down = value) };
}

function cacheOver(registry: ServiceRegistry, ttlMs: number): RoutingViewCache {
  return new RoutingViewCache(
    registry,
    {} as Redis,
    { ROUTING_CACHE_MS: ttlMs, REDIS_PREFIX: 'spec' } as ProxyConfig,
    createLogger('proxy', 'silent'),
  );
}

describe('RoutingViewCache', () => {
  it('reads the registry once for many requests within the TTL', async () => {
    const { registry, reads } = fakeRegistry();
    const cache = cacheOver(registry, 60_000);
    await Promise.all([cache.view(), cache.view(), cache.view()]);
    await cache.view();
    expect(reads()).toBe(1);
  });

  it('re-reads before answering once a change is announced', async () => {
    const { registry, reads } = fakeRegistry();
    const cache = cacheOver(registry, 60_000);
    await cache.view();
    cache.invalidate();
    await cache.view();
    expect(reads()).toBe(2);
  });

  it('keeps routing by the last view while the registry cannot be read', async () => {
    const { registry, setDown } = fakeRegistry();
    const cache = cacheOver(registry, 0);
    const first = await cache.view();
    setDown(true);
    cache.invalidate();
    expect(await cache.view()).toBe(first);
    // Past the TTL too: served at once, the failed re-read behind it.
    expect((await cache.view()).services.get('7')?.id).toBe('7');
  });

  it('fails when it has never read a view', async () => {
    const { registry, setDown } = fakeRegistry();
    setDown(true);
    await expect(cacheOver(registry, 0).view()).rejects.toThrow('Redis is away');
  });
});
