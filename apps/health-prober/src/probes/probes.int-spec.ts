import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { createRedis, replicaApiKey, ServiceRegistry, type StoredService } from '@aiplane/registry';
import { infraRedisUrl, storedService } from '@aiplane/testing';
import { AppMetrics } from '@aiplane/metrics';
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
    prober = new ProbesService(
      registry,
      redis,
      config,
      createLogger('health-prober', 'silent'),
      new AppMetrics('health-prober'),
    );
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

// The squatting of issue 10 item 4: another user's listener on a workload's port answers 200 to
// anything. Real auth_front.py processes (recipes/runtime) stand for the genuine workloads.
const FRONT = join(resolve(__dirname, '..', '..', '..', '..'), 'recipes', 'runtime', 'auth_front.py');
const NODE_KEY = 'node-key-0123456789abcdefghijklmnopqrstuvwxyz';

async function freePort(): Promise<number> {
  const server = createNetServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  return port;
}

/** auth_front.py holding `key`, in front of a server that answers 200 on every path. */
async function startFront(key: string, upstream: string): Promise<{ child: ChildProcess; endpoint: string }> {
  const port = await freePort();
  const child = spawn('python3', [FRONT, `--listen=127.0.0.1:${port}`, `--upstream-unix=${upstream}`], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', VLLM_API_KEY: key },
    stdio: 'ignore',
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (
    !(await fetch(`${endpoint}/health`).then(
      () => true,
      () => false,
    ))
  ) {
    if (Date.now() > deadline) throw new Error('auth_front.py did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, endpoint };
}

describe('ProbesService against a squatted port (real auth_front.py, real Redis)', () => {
  let redis: Redis;
  let registry: ServiceRegistry;
  let prober: ProbesService;
  let dir: string;
  const fronts: ChildProcess[] = [];
  const servers: Server[] = [];
  const seenBySquatter: IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    redis = createRedis(REDIS_URL);
    registry = new ServiceRegistry(redis, `${prefix}-sq`);
    dir = mkdtempSync(join(tmpdir(), 'aiplane-prober-'));
    const upstream = createServer((_req, res) => res.writeHead(200).end('{}'));
    upstream.listen(join(dir, 'workload.sock'));
    await once(upstream, 'listening');
    const squatter = createServer((req, res) => {
      seenBySquatter.push(req.headers);
      res.writeHead(200).end('ok');
    });
    servers.push(upstream, squatter);
    const squatted = await listen(squatter);
    const sock = join(dir, 'workload.sock');
    const single = await startFront(NODE_KEY, sock);
    const replica0 = await startFront(replicaApiKey(NODE_KEY, 0), sock);
    const stranger = await startFront('somebody-elses-key-0123456789abcdefghijk', sock);
    fronts.push(single.child, replica0.child, stranger.child);
    const config = loadHealthProberConfig({
      REDIS_URL,
      REDIS_PREFIX: `${prefix}-sq`,
      PROBE_INTERVAL_MS: '2000',
      PROBE_TIMEOUT_MS: '1000',
    });
    prober = new ProbesService(
      registry,
      redis,
      config,
      createLogger('health-prober', 'silent'),
      new AppMetrics('health-prober'),
    );
    const keyed = { ready: false, api_key: NODE_KEY };
    await registry.createService(record('301', single.endpoint, keyed));
    await registry.createService(record('302', squatted, keyed));
    await registry.createService(record('303', stranger.endpoint, keyed));
    const replica = { gpu_ids: [], ready: false, seen_ready: false };
    await registry.createService(
      record('304', '', {
        ...keyed,
        endpoint: null,
        group_id: 'sg-304',
        node_index: 0,
        replicas: [
          { ...replica, index: 0, endpoint: replica0.endpoint },
          { ...replica, index: 1, endpoint: squatted },
        ],
      }),
    );
  });

  afterAll(async () => {
    for (const child of fronts) child.kill('SIGTERM');
    for (const server of servers) server.closeAllConnections();
    for (const server of servers) server.close();
    rmSync(dir, { recursive: true, force: true });
    const keys = await redis.keys(`${prefix}-sq:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('marks ready only an endpoint that proves it holds the key, and never sends the key to one that cannot', async () => {
    expect(await prober.tick()).toBe(5);
    expect((await registry.get('301'))?.ready).toBe(true);
    // The squatter answers 200 to everything, the stranger holds another key: neither is ready.
    expect((await registry.get('302'))?.ready).toBe(false);
    expect((await registry.get('303'))?.ready).toBe(false);
    // Replica 0 holds its own key (derived from the node job's); replica 1's port is squatted.
    expect((await registry.get('304'))?.replicas.map((r) => r.ready)).toEqual([true, false]);
    // The squatter was asked for a proof (twice: 302 and replica 1), never shown a key.
    expect(seenBySquatter).toHaveLength(2);
    expect(seenBySquatter.map((headers) => headers.authorization)).toEqual([undefined, undefined]);
  });
});
