import type { Redis } from 'ioredis';
import { infraRedisUrl } from '@aiplane/testing';
import { MetricsPublisher, MetricsSnapshots } from './metrics.snapshots';
import { createRedis } from './redis.connection';

// Real Redis: what the slurm-worker, the health-prober and the proxy publish, and the orchestrator reads.
const prefix = `int-metrics-snapshots-${process.pid}`;
const TEXT = '# TYPE aiplane_x gauge\naiplane_x{app="slurm-worker"} 1\n';

describe('MetricsSnapshots (real Redis)', () => {
  let redis: Redis;
  let snapshots: MetricsSnapshots;

  beforeAll(() => {
    redis = createRedis(infraRedisUrl());
    snapshots = new MetricsSnapshots(redis, prefix);
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it("reads every live process's snapshot of an app, and only that app's", async () => {
    await snapshots.publish('slurm-worker', 'node-b:2', TEXT, 10_000);
    await snapshots.publish('slurm-worker', 'node-a:1', TEXT, 10_000);
    await snapshots.publish('health-prober', 'node-a:3', 'other', 10_000);
    expect(await snapshots.read('slurm-worker')).toEqual([
      { instance: 'node-a:1', text: TEXT },
      { instance: 'node-b:2', text: TEXT },
    ]);
    expect(await snapshots.read('proxy')).toEqual([]);
  });

  it('forgets a process that stopped publishing once its TTL is over, and one that withdrew at once', async () => {
    await snapshots.publish('proxy', 'gone:1', TEXT, 150);
    await snapshots.publish('proxy', 'stays:2', TEXT, 10_000);
    await snapshots.publish('proxy', 'stops:3', TEXT, 10_000);
    await snapshots.withdraw('proxy', 'stops:3');
    expect((await snapshots.read('proxy')).map((s) => s.instance)).toEqual(['gone:1', 'stays:2']);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect((await snapshots.read('proxy')).map((s) => s.instance)).toEqual(['stays:2']);
  });

  it('publishes on a schedule with a TTL of three intervals, and withdraws on stop', async () => {
    let collected = 0;
    const errors: unknown[] = [];
    const publisher = new MetricsPublisher(snapshots, {
      app: 'health-prober',
      instance: 'prober:9',
      intervalMs: 100,
      collect: () => Promise.resolve(`n ${String(++collected)}\n`),
      onError: (error) => errors.push(error),
    });
    publisher.start();
    await new Promise((resolve) => setTimeout(resolve, 350));
    const [snapshot] = (await snapshots.read('health-prober')).filter((s) => s.instance === 'prober:9');
    expect(collected).toBeGreaterThanOrEqual(3);
    expect(snapshot?.text).toMatch(/^n \d+\n$/);
    const ttl = await redis.pttl(`${prefix}:metrics:health-prober:prober:9`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(300);
    await publisher.stop();
    expect((await snapshots.read('health-prober')).map((s) => s.instance)).toEqual(['node-a:3']);
    expect(errors).toEqual([]);
  });
});
