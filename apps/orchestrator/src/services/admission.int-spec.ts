import { infraRedisUrl } from '@aiplane/testing';
import type { Redis } from 'ioredis';
import { SCHEDULER_QUEUE } from '@aiplane/contracts';
import { createRedis } from '@aiplane/registry';
import { startOrchestrator, type RunningOrchestrator } from '../testing/orchestrator.harness';

// Issue 10, items 11 and 12: quotas and Idempotency-Key, against the real app and a real Redis.
// No worker runs: an admitted create holds its quota and its submission while it waits
// SCHEDULER_WAIT_MS for one, then withdraws its job, gives both back and answers 503. The tests
// look at what is held while such creates are in flight.
const REDIS_URL = infraRedisUrl();
const QDRANT = { recipe_name: 'vector-db/qdrant', config: { resources: { gpu: 0 } } };

interface Answer {
  status: number;
  body: { message?: string; quota?: string };
  retryAfter: string | null;
}

describe('create admission: quotas and Idempotency-Key (real app, real Redis)', () => {
  let redis: Redis;
  const running: RunningOrchestrator[] = [];
  let counter = 0;

  async function orchestrator(env: Record<string, string> = {}): Promise<{ api: string; prefix: string }> {
    counter += 1;
    const prefix = `int-orch-admission-${String(process.pid)}-${String(counter)}`;
    const started = await startOrchestrator({
      REDIS_URL,
      REDIS_PREFIX: prefix,
      SCHEDULER_WAIT_MS: '1500',
      ...env,
    });
    running.push(started);
    return { api: started.api, prefix };
  }

  async function create(api: string, body: unknown, key?: string): Promise<Answer> {
    const res = await fetch(`${api}/services/start`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(key === undefined ? {} : { 'idempotency-key': key }),
      },
      body: JSON.stringify(body),
    });
    return {
      status: res.status,
      body: (await res.json()) as Answer['body'],
      retryAfter: res.headers.get('retry-after'),
    };
  }

  /** Jobs waiting on the scheduler queue (no worker takes them in these tests). */
  async function enqueued(prefix: string): Promise<number> {
    const queue = `${prefix}:bull:${SCHEDULER_QUEUE}`;
    return (await redis.llen(`${queue}:wait`)) + (await redis.zcard(`${queue}:prioritized`));
  }

  /** Time for in-flight creates to be admitted and enqueued. */
  const settle = () => new Promise((resolve) => setTimeout(resolve, 400));

  beforeAll(() => {
    redis = createRedis(REDIS_URL);
  });

  afterAll(async () => {
    for (const one of running) await one.close();
    const keys = await redis.keys(`int-orch-admission-${String(process.pid)}-*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('replays the same key with the same body (keys in any order), and refuses another body with 422', async () => {
    const { api, prefix } = await orchestrator();
    const first = create(api, QDRANT, 'same-key-1');
    await settle();
    const reordered = { config: { resources: { gpu: 0 } }, recipe_name: 'vector-db/qdrant' };
    const replay = create(api, reordered, 'same-key-1');
    const other = await create(api, { ...QDRANT, config: { resources: { gpu: 0, cpu: 2 } } }, 'same-key-1');
    expect(other.status).toBe(422);
    expect(other.body.message).toMatch(/Idempotency-Key was already used for a create with a different body/);
    expect(await redis.keys(`${prefix}:submission:*`)).toHaveLength(1);
    expect(await enqueued(prefix)).toBe(1);
    expect((await first).status).toBe(503);
    // The replay waited on the same queue job, which the first create withdrew: not a 422 or 429.
    expect([502, 503]).toContain((await replay).status);
    // Nothing was submitted, so nothing is left: the key is free for a new body.
    expect(await redis.keys(`${prefix}:submission:*`)).toEqual([]);
  });

  it('refuses the create over QUOTA_MAX_SERVICES with 429, Retry-After and the quota named; nothing written', async () => {
    const { api, prefix } = await orchestrator({ QUOTA_MAX_SERVICES: '2' });
    const inFlight = [create(api, QDRANT), create(api, QDRANT)];
    await settle();
    const third = await create(api, QDRANT);
    expect(third.status).toBe(429);
    expect(Number(third.retryAfter)).toBeGreaterThan(0);
    expect(third.body.message).toMatch(/^Quota QUOTA_MAX_SERVICES = 2 reached: 2 services and groups/);
    expect(third.body.quota).toBe('services');
    expect(await redis.keys(`${prefix}:submission:*`)).toHaveLength(2);
    expect(await enqueued(prefix)).toBe(2);
    expect((await Promise.all(inFlight)).map((answer) => answer.status)).toEqual([503, 503]);
    // Both were withdrawn: their slots are free again.
    const fourth = create(api, QDRANT);
    await settle();
    expect(await enqueued(prefix)).toBe(1);
    expect((await fourth).status).toBe(503);
  });

  it('lets exactly one of 12 parallel creates take the last slot', async () => {
    const { api, prefix } = await orchestrator({ QUOTA_MAX_SERVICES: '1' });
    const answers = await Promise.all(Array.from({ length: 12 }, () => create(api, QDRANT)));
    expect(answers.map((answer) => answer.status).sort()).toEqual([...Array<number>(11).fill(429), 503]);
    expect(await redis.keys(`${prefix}:submission:*`)).toEqual([]);
  });

  it('refuses nodes: 1024 before anything is enqueued (GPUs and node jobs both bounded)', async () => {
    const { api, prefix } = await orchestrator();
    const gpus = await create(api, {
      recipe_name: 'inference/vllm-replicas',
      config: { resources: { nodes: 1024, gpu: 1 }, gpu_per_replica: 1 },
    });
    expect(gpus.status).toBe(429);
    expect(gpus.body.message).toMatch(/^Quota QUOTA_MAX_GPUS = 64 reached: 0 GPUs .* asks for 1024 more/);
    const nodes = await create(api, {
      recipe_name: 'vector-db/qdrant',
      config: { resources: { nodes: 1024, gpu: 0 } },
    });
    expect(nodes.status).toBe(429);
    expect(nodes.body.message).toMatch(
      /^Quota QUOTA_MAX_NODES = 64 reached: 0 node jobs .* asks for 1024 more/,
    );
    expect(await redis.keys(`${prefix}:submission:*`)).toEqual([]);
    expect(await enqueued(prefix)).toBe(0);
  });

  it('refuses the create over QUOTA_CREATES_PER_MINUTE with a Retry-After within the minute', async () => {
    const { api } = await orchestrator({ QUOTA_CREATES_PER_MINUTE: '2', SCHEDULER_WAIT_MS: '100' });
    // Withdrawn creates still count: the rate bounds attempts.
    expect((await create(api, QDRANT)).status).toBe(503);
    expect((await create(api, QDRANT)).status).toBe(503);
    const third = await create(api, QDRANT);
    expect(third.status).toBe(429);
    expect(third.body.quota).toBe('creates_per_minute');
    expect(Number(third.retryAfter)).toBeGreaterThanOrEqual(59);
    expect(Number(third.retryAfter)).toBeLessThanOrEqual(60);
  });

  it('counts a service by its submission: an active job of it keeps the slot after the hold', async () => {
    const { api, prefix } = await orchestrator({ QUOTA_MAX_SERVICES: '1', SCHEDULER_WAIT_MS: '100' });
    // Two generations of one submission (a rollover successor) active, its hold long expired.
    for (const job of ['101', '102']) {
      await redis.hset(`${prefix}:service:${job}`, 'submission_id', 'sub-a');
      await redis.sadd(`${prefix}:services:active`, job);
    }
    await redis.hset(`${prefix}:quota:held`, 'sub-a', '0 1 1');
    expect((await create(api, QDRANT)).body.message).toMatch(/QUOTA_MAX_SERVICES = 1 reached: 1 services/);
    // Once neither generation is active, the slot is free again.
    await redis.del(`${prefix}:services:active`);
    expect((await create(api, QDRANT)).status).toBe(503);
  });
});
