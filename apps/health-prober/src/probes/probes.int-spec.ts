import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { createRedis, ServiceRegistry, type StoredService } from '@aiplane/registry';
import { infraRedisUrl, storedService } from '@aiplane/testing';
import { createLogger } from '@aiplane/server-kit';
import { loadHealthProberConfig } from '../health-prober.config';
import { ProbesService } from './probes.service';

// Real Redis and real HTTP workloads: one that is ready, one that accepts but never answers.
const REDIS_URL = infraRedisUrl();
const prefix = `int-prober-${process.pid}`;

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Running and not yet seen ready: what the prober looks at. */
const record = (id: string, endpoint: string, overrides: Partial<StoredService> = {}): StoredService =>
  storedService(id, { endpoint, ready: false, ...overrides });

describe('ProbesService (real Redis, real HTTP)', () => {
  let redis: Redis;
  let registry: ServiceRegistry;
  let prober: ProbesService;
  const servers: Server[] = [];

  beforeAll(async () => {
    redis = createRedis(REDIS_URL);
    registry = new ServiceRegistry(redis, prefix);
    const healthy = createServer((req, res) => {
      res.writeHead(req.url === '/health' ? 200 : 404).end();
    });
    const hanging = createServer(() => {
      // Accepts the connection and never answers: the failure a readiness probe exists to catch.
    });
    const unprobed = createServer();
    servers.push(healthy, hanging, unprobed);
    const config = loadHealthProberConfig({
      REDIS_URL,
      REDIS_PREFIX: prefix,
      PROBE_INTERVAL_MS: '400',
      PROBE_TIMEOUT_MS: '250',
    });
    prober = new ProbesService(registry, redis, config, createLogger('health-prober', 'silent'));
    await registry.createService(record('201', await listen(healthy)));
    await registry.createService(record('202', await listen(hanging), { ready: true }));
    await registry.createService(record('203', 'http://127.0.0.1:1'));
    await registry.createService(record('204', await listen(unprobed), { scheduler_state: 'PENDING' }));
  });

  afterAll(async () => {
    for (const server of servers) server.closeAllConnections();
    for (const server of servers) server.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('marks answering workloads ready and silent or refusing ones not ready within one round', async () => {
    const started = Date.now();
    const probed = await prober.tick();
    expect(Date.now() - started).toBeLessThan(800);
    expect(probed).toBe(3);
    expect((await registry.get('201'))?.ready).toBe(true);
    expect((await registry.get('202'))?.ready).toBe(false);
    expect((await registry.get('203'))?.ready).toBe(false);
    expect((await registry.get('204'))?.last_probe_at).toBeNull();
  });

  it('probes a round once however many probers run', async () => {
    await new Promise((resolve) => setTimeout(resolve, 450));
    const rounds = await Promise.all([prober.tick(), prober.tick(), prober.tick()]);
    expect(rounds.filter((count) => count > 0)).toHaveLength(1);
  });
});
