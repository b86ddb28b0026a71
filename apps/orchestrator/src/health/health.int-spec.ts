import type { Redis } from 'ioredis';
import { Worker } from 'bullmq';
import { SCHEDULER_QUEUE } from '@aiplane/contracts';
import { createBullConnection } from '@aiplane/jobs';
import { createRedis } from '@aiplane/registry';
import { startOrchestrator, type RunningOrchestrator } from '../testing/orchestrator.harness';
import { infraRedisUrl } from '@aiplane/testing';

// The real orchestrator app on real Redis: /api/ready says yes only while a slurm-worker consumes
// the queue, which is what the gateway's /health and /ready are built on.
const REDIS_URL = infraRedisUrl();
const prefix = `int-orch-health-${process.pid}`;

const refuse = (): Promise<unknown> => Promise.reject(new Error('not under test'));

/** A consumer of the scheduler queue, as a slurm-worker is; the orchestrator may not import the real one. */
function queueConsumer(connection: ReturnType<typeof createBullConnection>, bullPrefix: string): Worker {
  return new Worker(SCHEDULER_QUEUE, refuse, { connection, prefix: bullPrefix, autorun: false });
}

describe('GET /api/health and /api/ready (real orchestrator app, real Redis)', () => {
  let orchestrator: RunningOrchestrator;
  let base: string;
  let redis: Redis;

  beforeAll(async () => {
    redis = createRedis(REDIS_URL);
    orchestrator = await startOrchestrator({ REDIS_URL, REDIS_PREFIX: prefix });
    base = orchestrator.api;
  });

  afterAll(async () => {
    await orchestrator.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  const get = async (path: string) => {
    const res = await fetch(`${base}${path}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('is healthy with Redis alone, and ready only while a slurm-worker consumes its queue', async () => {
    expect(await get('/health')).toEqual({ status: 200, body: { status: 'healthy', redis: 'ok' } });
    expect(await get('/ready')).toMatchObject({
      status: 503,
      body: {
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'No slurm-worker is consuming the scheduler queue: a create now could not be submitted',
      },
    });

    // A worker of this deployment: the same queue prefix the orchestrator enqueues on.
    const connection = createBullConnection(REDIS_URL);
    const worker = queueConsumer(connection, `${prefix}:bull`);
    try {
      void worker.run();
      await worker.waitUntilReady();
      expect(await get('/ready')).toEqual({
        status: 200,
        body: { status: 'ready', redis: 'ok', workers: 1 },
      });
    } finally {
      await worker.close();
      await connection.quit();
    }
    expect((await get('/ready')).status).toBe(503);
  });

  it("does not count another deployment's worker", async () => {
    const connection = createBullConnection(REDIS_URL);
    const other = queueConsumer(connection, `${prefix}-other:bull`);
    try {
      void other.run();
      await other.waitUntilReady();
      expect((await get('/ready')).status).toBe(503);
    } finally {
      await other.close();
      await connection.quit();
      const keys = await redis.keys(`${prefix}-other:*`);
      if (keys.length > 0) await redis.del(...keys);
    }
  });
});
