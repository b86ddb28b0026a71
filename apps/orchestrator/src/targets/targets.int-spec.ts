import * as http from 'node:http';
import type { Redis } from 'ioredis';
import { createRedis, ServiceRegistry, type StoredGroup } from '@aiplane/registry';
import { infraRedisUrl, storedService } from '@aiplane/testing';
import { startOrchestrator, type RunningOrchestrator } from '../testing/orchestrator.harness';

// The real orchestrator app on real Redis: services/targets must reach TargetsController, not be
// taken for a service id by services/:id.
const REDIS_URL = infraRedisUrl();
const prefix = `int-orch-targets-${process.pid}`;

const GROUP: StoredGroup = {
  id: 'sg-403',
  job_ids: ['403'],
  name: 'inference/vllm-replicas-sg-403',
  recipe_name: 'inference/vllm-replicas',
  kind: 'vllm',
  config: {},
  created_at: '2025-01-01T00:00:01.000Z',
  submission_id: 's403',
  total_replicas: 2,
  gpu_per_replica: 1,
  base_port: 8001,
};

interface Answer {
  status: number;
  body: unknown;
}

/** node:http, because fetch will not send a Host header of the caller's choosing. */
function get(url: string, headers: Record<string, string | string[]>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        resolve({
          status: res.statusCode ?? 0,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown,
        });
      });
    });
    req.on('error', reject);
  });
}

describe('GET /api/services/targets (real orchestrator app, real Redis)', () => {
  let orchestrator: RunningOrchestrator;
  let base: string;
  let hostPort: string;
  let redis: Redis;

  beforeAll(async () => {
    redis = createRedis(REDIS_URL);
    const registry = new ServiceRegistry(redis, prefix);
    await registry.createService(storedService('401', { endpoint: 'http://gpu-node-01:8002' }));
    await registry.createService(
      storedService('402', { endpoint: null, scheduler_state: 'PENDING', ready: false }),
    );
    await registry.createGroup(GROUP);
    const replica = (index: number, ready: boolean) => ({
      index,
      gpu_ids: [String(index)],
      endpoint: `http://gpu-node-02:${8001 + index}`,
      ready,
      seen_ready: ready,
    });
    await registry.createService(
      storedService('403', {
        created_at: GROUP.created_at,
        endpoint: null,
        node: 'gpu-node-02',
        group_id: GROUP.id,
        node_index: 0,
        replicas: [replica(0, true), replica(1, false)],
        recipe_name: GROUP.recipe_name,
      }),
    );
    orchestrator = await startOrchestrator({ REDIS_URL, REDIS_PREFIX: prefix });
    hostPort = orchestrator.hostPort;
    base = `${orchestrator.api}/services`;
  });

  afterAll(async () => {
    await orchestrator.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('answers Prometheus HTTP SD JSON pointing at its own metrics routes, as the caller reached it', async () => {
    const response = await fetch(`${base}/targets`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(await response.json()).toEqual([
      // The control plane first (no gateway: this caller did not come through one).
      ...['orchestrator', 'proxy', 'slurm-worker', 'health-prober'].map((app) => ({
        targets: [hostPort],
        labels: { __metrics_path__: `/api/metrics/${app}`, app, kind: 'control-plane' },
      })),
      {
        targets: [hostPort],
        labels: {
          __metrics_path__: '/api/services/401/metrics',
          service_id: '401',
          recipe_name: 'inference/vllm-single-node',
          kind: 'vllm',
        },
      },
      {
        targets: [hostPort],
        labels: {
          __metrics_path__: '/api/services/sg-403/metrics',
          service_id: 'sg-403',
          recipe_name: 'inference/vllm-replicas',
          kind: 'vllm',
        },
      },
    ]);
  });

  it("points at the gateway when the gateway's X-Forwarded headers say so", async () => {
    const response = await fetch(`${base}/targets`, {
      headers: {
        'x-forwarded-host': '127.0.0.1:8001',
        'x-forwarded-proto': 'https',
        'x-forwarded-prefix': '/api/v1',
      },
    });
    expect(response.status).toBe(200);
    const groups = (await response.json()) as { targets: string[]; labels: Record<string, string> }[];
    expect(
      groups.map((group) => [group.targets, group.labels.__metrics_path__, group.labels.__scheme__]),
    ).toEqual([
      // The gateway's own among the control plane's: the request came through it.
      ...['gateway', 'orchestrator', 'proxy', 'slurm-worker', 'health-prober'].map((app) => [
        ['127.0.0.1:8001'],
        `/api/v1/metrics/${app}`,
        'https',
      ]),
      [['127.0.0.1:8001'], '/api/v1/services/401/metrics', 'https'],
      [['127.0.0.1:8001'], '/api/v1/services/sg-403/metrics', 'https'],
    ]);
  });

  it('uses its own Host when no X-Forwarded-Host comes, default port spelled out', async () => {
    const answer = await get(`${base}/targets`, { host: 'login-node.cluster' });
    expect(answer.status).toBe(200);
    const targets = (answer.body as { targets: string[] }[]).map((group) => group.targets);
    expect(targets).toHaveLength(6);
    expect(new Set(targets.flat())).toEqual(new Set(['login-node.cluster:80']));
  });

  it.each([
    [{ 'x-forwarded-host': 'evil"},{"targets":["x' }, /X-Forwarded-Host must be/],
    [{ 'x-forwarded-host': '127.0.0.1:8001, 10.0.0.1:8001' }, /X-Forwarded-Host must be/],
    [{ 'x-forwarded-host': ['127.0.0.1:8001', '10.0.0.1:8001'] }, /X-Forwarded-Host must be/],
    [{ 'x-forwarded-host': 'host:99999' }, /X-Forwarded-Host must be/],
    [{ 'x-forwarded-proto': 'gopher' }, /X-Forwarded-Proto must be http or https/],
    [{ 'x-forwarded-prefix': '/api/v1/../../x' }, /X-Forwarded-Prefix must be a path/],
    [{ 'x-forwarded-prefix': '/api?target=x' }, /X-Forwarded-Prefix must be a path/],
    [{ host: 'bad host' }, /^Host must be/],
  ])('answers 400 naming a malformed header: %p', async (headers, message) => {
    const answer = await get(`${base}/targets`, headers);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({
      statusCode: 400,
      error: 'Bad Request',
      message: expect.stringMatching(message) as unknown,
    });
  });

  it('leaves services/:id to the services routes', async () => {
    const response = await fetch(`${base}/402`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: '402', status: 'pending' });
  });
});
