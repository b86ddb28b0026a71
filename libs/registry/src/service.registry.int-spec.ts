import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { JobState } from '@aiplane/contracts';
import { infraRedisUrl, storedService } from '@aiplane/testing';
import { createRedis } from './redis.connection';
import type { StoredService, Submission } from './registry.types';
import {
  registryChangesChannel,
  ServiceRegistry,
  toServiceRecord,
  type RegistryEntry,
} from './service.registry';

// Real Redis, no fakes: tools/infra/up.sh (or CI) provides it. Every test gets its own key prefix
// so runs never see each other's records, and the prefix's keys are deleted afterwards.
function redisUrl(): string {
  return infraRedisUrl();
}

async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

function entryId(entry: RegistryEntry): string {
  return entry.type === 'group' ? entry.group.id : entry.service.id;
}

function at(second: number): Date {
  return new Date(Date.UTC(2025, 0, 1, 0, 0, second));
}

/** Just submitted: pending, not placed yet, its secrets already redacted. */
const service = (id: string, overrides: Partial<StoredService> = {}): StoredService =>
  storedService(id, {
    config: { environment: { HF_TOKEN: '***' }, resources: { cpu: 2, gpu: 1 } },
    created_at: at(0).toISOString(),
    updated_at: at(0).toISOString(),
    scheduler_state: 'PENDING',
    endpoint: null,
    node: null,
    ready: false,
    ...overrides,
  });

describe('ServiceRegistry on real Redis', () => {
  let redis: Redis;
  let prefix: string;
  let registry: ServiceRegistry;

  beforeAll(async () => {
    redis = createRedis(redisUrl());
    try {
      await redis.ping();
    } catch (error) {
      redis.disconnect();
      throw new Error(
        `Redis is not available at ${redisUrl()} (${String(error)}). Start it with \`bash tools/infra/up.sh redis\`.`,
      );
    }
  });

  afterAll(async () => {
    await redis.quit();
  });

  beforeEach(() => {
    prefix = `aiplane-int-registry-${randomBytes(6).toString('hex')}`;
    registry = new ServiceRegistry(redis, prefix);
  });

  afterEach(async () => {
    await deleteKeys(redis, prefix);
  });

  describe('malformed records', () => {
    it('are refused at the read with a typed error naming the key', async () => {
      await redis.set(`${prefix}:submission:bad`, '{"id":"bad","config":{}}');
      await redis.set(`${prefix}:group:sg-1`, 'garbage');
      await registry.createService(service('7'));
      await redis.hdel(`${prefix}:service:7`, 'job_dir');
      await registry.createService(service('8'));
      await redis.hset(`${prefix}:service:8`, 'config', '{"resources":{"nodes":[2]}}');

      await expect(registry.getSubmission('bad')).rejects.toMatchObject({
        code: 'CORRUPT_RECORD',
        key: `${prefix}:submission:bad`,
        message: expect.stringContaining('recipe_name'),
      });
      await expect(registry.getGroup('sg-1')).rejects.toMatchObject({ key: `${prefix}:group:sg-1` });
      await expect(registry.get('7')).rejects.toMatchObject({
        key: `${prefix}:service:7`,
        message: expect.stringContaining('job_dir'),
      });
      await expect(registry.getMany(['8'])).rejects.toMatchObject({ key: `${prefix}:service:8 config` });
    });
  });

  describe('records', () => {
    it('creates and reads back a service with every field intact', async () => {
      const stored = service('101', {
        scheduler_state: 'RUNNING',
        endpoint: 'http://node1:8000',
        node: 'node1',
        ready: true,
        status_reason: 'None',
        exit_code: 0,
        last_probe_at: at(5).toISOString(),
      });
      await registry.createService(stored);

      expect(await registry.get('101')).toEqual(stored);
      expect(await registry.exists('101')).toBe(true);
      expect(await registry.activeIds()).toEqual(['101']);
    });

    it('reads nullable fields back as null', async () => {
      const stored = service('102');
      await registry.createService(stored);

      const read = await registry.get('102');
      expect(read).toEqual(stored);
      expect(read?.endpoint).toBeNull();
      expect(read?.exit_code).toBeNull();
    });

    it("keeps the workload's API key in the record and out of what clients see", async () => {
      const stored = service('103', { api_key: 'k-103' });
      await registry.createService(stored);

      const read = await registry.get('103');
      expect(read).toEqual(stored);
      expect((await registry.getMany(['103']))[0]?.api_key).toBe('k-103');
      expect(JSON.stringify(toServiceRecord(read!))).not.toContain('k-103');
      // A record from before keys existed reads back without one.
      await registry.createService(service('104'));
      expect(await registry.get('104')).not.toHaveProperty('api_key');
    });

    it('returns undefined for an unknown id', async () => {
      expect(await registry.get('nope')).toBeUndefined();
      expect(await registry.exists('nope')).toBe(false);
    });

    it('lists services oldest first, whatever the insertion order', async () => {
      await registry.createService(service('c', { created_at: at(30).toISOString() }));
      await registry.createService(service('a', { created_at: at(10).toISOString() }));
      await registry.createService(service('b', { created_at: at(20).toISOString() }));

      expect((await registry.listEntries()).map(entryId)).toEqual(['a', 'b', 'c']);
    });

    it('getMany keeps the requested order and skips ids that do not exist', async () => {
      await registry.createService(service('1'));
      await registry.createService(service('2'));

      expect((await registry.getMany(['2', 'missing', '1'])).map((s) => s.id)).toEqual(['2', '1']);
      expect(await registry.getMany([])).toEqual([]);
      expect(await registry.getMany(['missing'])).toEqual([]);
    });

    it('does not put a service created in a terminal state into the active set', async () => {
      await registry.createService(service('done', { scheduler_state: 'COMPLETED' }));

      expect(await registry.activeIds()).toEqual([]);
      expect((await registry.listEntries()).map(entryId)).toEqual(['done']);
    });
  });

  describe('supersede', () => {
    it('moves a record out of the lists and the active set, intact under a superseded key', async () => {
      const old = service('1000', { scheduler_state: 'RUNNING' });
      await registry.createService(old);

      const archivedAs = await registry.supersede('1000');

      expect(archivedAs).toMatch(new RegExp(`^${prefix}:superseded:service:1000:\\d+$`));
      expect(await registry.get('1000')).toBeUndefined();
      expect(await registry.activeIds()).toEqual([]);
      expect(await registry.listEntries()).toEqual([]);
      expect(await redis.hget(archivedAs ?? '', 'submission_id')).toBe(old.submission_id);
      // The id is free for the new job's record.
      await registry.createService(service('1000', { submission_id: 'newer' }));
      expect((await registry.get('1000'))?.submission_id).toBe('newer');
    });

    it('answers undefined for an id with no record and changes nothing', async () => {
      expect(await registry.supersede('4242')).toBeUndefined();
      expect(await redis.keys(`${prefix}:*`)).toEqual([]);
    });
  });

  describe('timeline and walltime rollover', () => {
    it('sets ready_at and reports the first readiness once, and only for the endpoint probed', async () => {
      await registry.createService(
        service('t1', { scheduler_state: 'RUNNING', endpoint: 'http://node1:8001' }),
      );
      expect(await registry.setReadiness('t1', true, at(5), 'http://node1:9999')).toBe(false);
      expect((await registry.get('t1'))?.ready).toBe(false);
      expect(await registry.setReadiness('t1', true, at(5), 'http://node1:8001')).toBe(true);
      expect(await registry.setReadiness('t1', true, at(6), 'http://node1:8001')).toBe(false);
      expect((await registry.get('t1'))?.timeline.ready_at).toBe(at(5).toISOString());
    });

    it('keeps the longest start-up per recipe', async () => {
      expect(await registry.longestStartupSeconds('inference/x')).toBeNull();
      await registry.recordStartup('inference/x', 12.2);
      await registry.recordStartup('inference/x', 3);
      expect(await registry.longestStartupSeconds('inference/x')).toBe(13);
    });

    it('lets a ready successor take over the record; its job id then names the service', async () => {
      await registry.createService(
        service('500', {
          scheduler_state: 'RUNNING',
          endpoint: 'http://node1:8001',
          ready: true,
          api_key: 'old-key',
          rollover_state: 'successor_starting',
          successor_id: '501',
          timeline: {
            submitted_at: at(0).toISOString(),
            started_at: at(1).toISOString(),
            ready_at: at(2).toISOString(),
            ended_at: null,
          },
        }),
      );
      await registry.createService(
        service('501', {
          scheduler_state: 'RUNNING',
          endpoint: 'http://node1:8002',
          ready: false,
          api_key: 'new-key',
          rollover_of: '500',
          generation: 2,
        }),
      );
      const next = {
        generations: [
          { job_id: '500', started_at: at(1).toISOString(), ended_at: null },
          { job_id: '501', started_at: at(50).toISOString(), ended_at: null },
        ],
        state: 'draining' as const,
        message: 'draining',
      };
      // Not before it is ready.
      expect(await registry.promoteSuccessor('500', '501', next)).toBe('not-ready');
      await registry.setReadiness('501', true, at(55));
      expect(await registry.promoteSuccessor('500', '501', next)).toBe('promoted');

      const record = toServiceRecord((await registry.get('500'))!);
      expect(record).toMatchObject({
        id: '500',
        job_id: '501',
        endpoint: 'http://node1:8002',
        status: 'running',
        timeline: { started_at: at(1).toISOString(), ready_at: at(2).toISOString() },
        generations: next.generations,
        rollover: { state: 'draining', successor_job_id: null },
      });
      expect((await registry.get('500'))?.api_key).toBe('new-key');
      expect((await registry.get('501'))?.id).toBe('500');
      expect(await registry.activeIds()).not.toContain('501');
      // Only single services and groups are listed.
      expect((await registry.listEntries()).map(entryId)).not.toContain('501');
    });
  });

  describe('toServiceRecord', () => {
    it.each<[JobState, boolean, string]>([
      ['PENDING', false, 'pending'],
      ['RUNNING', false, 'configuring'],
      ['RUNNING', true, 'running'],
      ['CANCELLED', false, 'cancelled'],
    ])('derives %s + ready=%s as %s from the stored record', async (state, ready, status) => {
      await registry.createService(service('s', { scheduler_state: state, ready }));

      const read = await registry.get('s');
      expect(read).toBeDefined();
      expect(toServiceRecord(read!).status).toBe(status);
    });

    it('shows the contract fields only', async () => {
      await registry.createService(
        service('r', { endpoint: 'http://node1:8000', warnings: ['Model m: its size is unknown'] }),
      );

      expect(toServiceRecord((await registry.get('r'))!)).toEqual({
        id: 'r',
        name: 'inference/vllm-single-node-r',
        recipe_name: 'inference/vllm-single-node',
        status: 'pending',
        config: { environment: { HF_TOKEN: '***' }, resources: { cpu: 2, gpu: 1 } },
        created_at: at(0).toISOString(),
        updated_at: at(0).toISOString(),
        endpoint: 'http://node1:8000',
        job_id: 'r',
        type: 'service',
        warnings: ['Model m: its size is unknown'],
        // Pending, before any poll read the queue.
        queue: { position: null, reason: null, estimated_start: null },
        timeline: { submitted_at: null, started_at: null, ready_at: null, ended_at: null },
        generations: [{ job_id: 'r', started_at: null, ended_at: null }],
        rollover: { state: 'off', message: null, successor_job_id: null },
      });
      // A record stored before warnings existed reads as having none.
      await registry.createService(service('old'));
      expect(toServiceRecord((await registry.get('old'))!).warnings).toEqual([]);
    });
  });

  describe('the queue', () => {
    it('is stored by a poll while pending and cleared by the one that sees the job start', async () => {
      await registry.createService(service('q'));
      const queue = { position: 3, reason: 'Resources', estimated_start: at(600).toISOString() };
      await registry.applySchedulerState('q', { state: 'PENDING', reason: 'Resources', queue }, at(1));
      expect((await registry.get('q'))?.queue).toEqual(queue);
      expect(toServiceRecord((await registry.get('q'))!).queue).toEqual(queue);

      await registry.applySchedulerState('q', { state: 'RUNNING', node: 'node1', queue: null }, at(2));
      const started = await registry.get('q');
      expect(started).not.toHaveProperty('queue');
      expect(toServiceRecord(started!)).not.toHaveProperty('queue');
    });
  });

  describe('applySchedulerState', () => {
    it('updates the scheduler fields and keeps the service active while it runs', async () => {
      await registry.createService(service('1'));

      const applied = await registry.applySchedulerState(
        '1',
        { state: 'RUNNING', node: 'node7', reason: null, endpoint: 'http://node7:8000' },
        at(10),
      );

      expect(applied).toBe(true);
      const read = await registry.get('1');
      expect(read).toMatchObject({
        scheduler_state: 'RUNNING',
        node: 'node7',
        endpoint: 'http://node7:8000',
        status_reason: null,
        updated_at: at(10).toISOString(),
      });
      expect(await registry.activeIds()).toEqual(['1']);
    });

    it("clears an ended replica's endpoint and readiness; having been seen ready, it stays so", async () => {
      const replica = (index: number) => ({
        index,
        gpu_ids: [String(index)],
        endpoint: `http://node7:800${index}`,
        ready: true,
        seen_ready: true,
      });
      await registry.createService(
        service('1', { scheduler_state: 'RUNNING', replicas: [replica(0), replica(1)] }),
      );

      await registry.applySchedulerState('1', { state: 'RUNNING', replicaEndpoints: { 1: null } }, at(4));

      expect((await registry.get('1'))?.replicas).toEqual([
        replica(0),
        { ...replica(1), endpoint: null, ready: false },
      ]);
    });

    it('leaves fields the observation does not mention untouched', async () => {
      await registry.createService(service('1', { node: 'node1', endpoint: 'http://node1:8000' }));

      await registry.applySchedulerState('1', { state: 'RUNNING' }, at(3));

      expect(await registry.get('1')).toMatchObject({ node: 'node1', endpoint: 'http://node1:8000' });
    });

    it('on a terminal state records the outcome, clears readiness and removes the service from the active set', async () => {
      await registry.createService(service('1', { scheduler_state: 'RUNNING', ready: true }));
      await registry.createService(service('2', { scheduler_state: 'RUNNING' }));

      const applied = await registry.applySchedulerState(
        '1',
        { state: 'FAILED', reason: 'NonZeroExitCode', exitCode: 3 },
        at(20),
      );

      expect(applied).toBe(true);
      const read = (await registry.get('1'))!;
      expect(read).toMatchObject({
        scheduler_state: 'FAILED',
        status_reason: 'NonZeroExitCode',
        exit_code: 3,
        ready: false,
        updated_at: at(20).toISOString(),
      });
      expect(toServiceRecord(read).status).toBe('failed');
      expect(await registry.activeIds()).toEqual(['2']);
    });

    it('ends the timeline with the final state: at the time applied, unless the observation says when', async () => {
      await registry.createService(service('1', { scheduler_state: 'RUNNING' }));
      await registry.createService(service('2', { scheduler_state: 'RUNNING' }));
      // A cancel is recorded by the worker that ran scancel; no poll reads the record afterwards.
      await registry.applySchedulerState('1', { state: 'CANCELLED', reason: 'cancelled by user' }, at(30));
      await registry.applySchedulerState('2', { state: 'TIMEOUT', endedAt: at(25).toISOString() }, at(31));
      expect((await registry.get('1'))?.timeline.ended_at).toBe(at(30).toISOString());
      expect((await registry.get('2'))?.timeline.ended_at).toBe(at(25).toISOString());
      // Not yet final: no end.
      await registry.createService(service('3', { scheduler_state: 'PENDING' }));
      await registry.applySchedulerState('3', { state: 'RUNNING' }, at(32));
      expect((await registry.get('3'))?.timeline.ended_at).toBeNull();
    });

    it('keeps a terminal state final: a later RUNNING is refused and changes nothing', async () => {
      await registry.createService(service('1', { scheduler_state: 'RUNNING' }));
      expect(await registry.applySchedulerState('1', { state: 'CANCELLED' }, at(10))).toBe(true);
      const cancelled = await registry.get('1');

      expect(
        await registry.applySchedulerState(
          '1',
          { state: 'RUNNING', node: 'late', endpoint: 'http://x' },
          at(11),
        ),
      ).toBe(false);
      expect(await registry.applySchedulerState('1', { state: 'COMPLETED', exitCode: 0 }, at(12))).toBe(
        false,
      );

      const read = await registry.get('1');
      expect(read).toEqual(cancelled);
      expect(toServiceRecord(read!).status).toBe('cancelled');
      expect(await registry.activeIds()).toEqual([]);
    });

    it('keeps the first applied terminal state final under 50 concurrent interleaved writes', async () => {
      // Several connections, so Redis really receives the writes in an order the test does not choose.
      const connections = Array.from({ length: 5 }, () => createRedis(redisUrl()));
      const writers = connections.map((connection) => new ServiceRegistry(connection, prefix));
      try {
        for (let round = 0; round < 5; round++) {
          const id = `race-${round}`;
          await registry.createService(service(id, { scheduler_state: 'PENDING' }));

          // Each write carries its index as the reason, so the stored record names the last write applied.
          const writes = Array.from({ length: 50 }, (_, i): { state: JobState; reason: string } => ({
            state: i % 2 === 0 ? 'RUNNING' : 'CANCELLED',
            reason: `write-${i}`,
          }));
          const results = await Promise.all(
            writes.map((write, i) => writers[i % writers.length]!.applySchedulerState(id, write, at(i))),
          );

          const appliedTerminal = writes.filter((w, i) => w.state === 'CANCELLED' && results[i]);
          expect(appliedTerminal).toHaveLength(1);
          const final = (await registry.get(id))!;
          expect(final.scheduler_state).toBe('CANCELLED');
          expect(final.status_reason).toBe(appliedTerminal[0]!.reason);
          expect(toServiceRecord(final).status).toBe('cancelled');
          expect(await registry.activeIds()).not.toContain(id);

          // And it stays there.
          expect(await registry.applySchedulerState(id, { state: 'RUNNING' })).toBe(false);
          expect((await registry.get(id))!.scheduler_state).toBe('CANCELLED');
        }
      } finally {
        await Promise.all(connections.map((connection) => connection.quit()));
      }
    });

    it('returns false for a missing id and creates nothing', async () => {
      expect(await registry.applySchedulerState('ghost', { state: 'RUNNING', node: 'n1' })).toBe(false);
      expect(await registry.applySchedulerState('ghost', { state: 'CANCELLED' })).toBe(false);

      expect(await registry.exists('ghost')).toBe(false);
      expect(await redis.keys(`${prefix}:*`)).toEqual([]);
    });
  });

  describe('setReadiness', () => {
    it('is ignored on a terminal record: neither ready, last_probe_at nor updated_at change', async () => {
      await registry.createService(service('1', { scheduler_state: 'RUNNING' }));
      await registry.applySchedulerState('1', { state: 'CANCELLED' }, at(10));
      const before = await registry.get('1');

      await registry.setReadiness('1', true, at(20));

      expect(await registry.get('1')).toEqual(before);
    });

    it('never writes after a concurrent terminal state landed', async () => {
      // A probe answering while the service is cancelled: the check and the write must be one step.
      const connections = Array.from({ length: 4 }, () => createRedis(redisUrl()));
      const probers = connections.map((connection) => new ServiceRegistry(connection, prefix));
      try {
        for (let round = 0; round < 20; round++) {
          const id = `probe-race-${round}`;
          await registry.createService(service(id, { scheduler_state: 'RUNNING' }));

          await Promise.all([
            ...Array.from({ length: 20 }, (_, i) =>
              probers[i % probers.length]!.setReadiness(id, i % 2 === 0, at(30 + i)),
            ),
            registry.applySchedulerState(id, { state: 'CANCELLED' }, at(10)),
          ]);

          // Probes that ran before the cancel were overwritten by it; none may have run after.
          expect(await registry.get(id)).toMatchObject({
            scheduler_state: 'CANCELLED',
            ready: false,
            updated_at: at(10).toISOString(),
          });
        }
      } finally {
        await Promise.all(connections.map((connection) => connection.quit()));
      }
    });

    it('is ignored for a missing id and creates nothing', async () => {
      await registry.setReadiness('ghost', true, at(1));

      expect(await registry.exists('ghost')).toBe(false);
      expect(await redis.keys(`${prefix}:*`)).toEqual([]);
    });

    it('bumps updated_at only when readiness changes, last_probe_at on every probe', async () => {
      await registry.createService(service('1', { scheduler_state: 'RUNNING' }));

      await registry.setReadiness('1', true, at(10));
      let read = (await registry.get('1'))!;
      expect(read).toMatchObject({
        ready: true,
        updated_at: at(10).toISOString(),
        last_probe_at: at(10).toISOString(),
      });
      expect(toServiceRecord(read).status).toBe('running');

      await registry.setReadiness('1', true, at(20));
      read = (await registry.get('1'))!;
      expect(read).toMatchObject({
        ready: true,
        updated_at: at(10).toISOString(),
        last_probe_at: at(20).toISOString(),
      });

      await registry.setReadiness('1', false, at(30));
      read = (await registry.get('1'))!;
      expect(read).toMatchObject({
        ready: false,
        updated_at: at(30).toISOString(),
        last_probe_at: at(30).toISOString(),
      });
      expect(toServiceRecord(read).status).toBe('configuring');
    });
  });

  describe('change announcements', () => {
    /** Runs `act`, then a marker write, and returns the ids announced before the marker. */
    async function announced(act: () => Promise<void>): Promise<string[]> {
      const subscriber = createRedis(redisUrl());
      const seen: string[] = [];
      try {
        await subscriber.subscribe(registryChangesChannel(prefix));
        const marker = new Promise<void>((resolve) => {
          subscriber.on('message', (_channel: string, id: string) => {
            if (id === 'marker') resolve();
            else seen.push(id);
          });
        });
        await act();
        await redis.publish(registryChangesChannel(prefix), 'marker');
        await marker;
        return seen;
      } finally {
        subscriber.disconnect();
      }
    }

    it('announces creates, state changes, readiness changes and supersedes by id', async () => {
      const ids = await announced(async () => {
        await registry.createService(service('1', { scheduler_state: 'RUNNING' }));
        await registry.createGroup({
          id: 'sg-2',
          job_ids: ['2'],
          name: 'g',
          recipe_name: 'inference/vllm-replicas',
          kind: 'vllm',
          config: {},
          created_at: at(0).toISOString(),
          submission_id: 's2',
          total_replicas: 1,
          gpu_per_replica: 1,
          base_port: 8001,
        });
        await registry.createService(service('2', { group_id: 'sg-2', replicas: [] }));
        await registry.applySchedulerState('1', { state: 'RUNNING', endpoint: 'http://n:1' }, at(1));
        await registry.setReadiness('1', true, at(2));
        await registry.setReplicaReadiness('2', 0, true, at(3));
        await registry.supersede('sg-2');
      });
      expect(ids).toEqual(['1', 'sg-2', '2', '1', '1', '2', 'sg-2']);
    });

    it('stays quiet when a poll or a probe changes nothing but the time', async () => {
      await registry.createService(
        service('1', { scheduler_state: 'RUNNING', endpoint: 'http://n:1', ready: true }),
      );
      const ids = await announced(async () => {
        await registry.applySchedulerState('1', { state: 'RUNNING', endpoint: 'http://n:1' }, at(5));
        await registry.setReadiness('1', true, at(6));
        await registry.setReadiness('ghost', true, at(6));
      });
      expect(ids).toEqual([]);
    });
  });

  describe('submissions', () => {
    function submission(id: string, overrides: Partial<Submission> = {}): Submission {
      return {
        id,
        recipe_name: 'inference/vllm',
        config: { environment: { HF_TOKEN: 'hf_secret' }, resources: { gpu: 1 } },
        request_id: `req-${id}`,
        created_at: at(0).toISOString(),
        ...overrides,
      };
    }

    it('stores a submission with an expiry', async () => {
      await registry.createSubmission(submission('s1'));

      expect(await registry.getSubmission('s1')).toEqual(submission('s1'));
      expect(await redis.ttl(`${prefix}:submission:s1`)).toBeGreaterThan(0);
      expect(await registry.getSubmission('missing')).toBeUndefined();
    });

    it('never overwrites an existing submission with the same id', async () => {
      await registry.createSubmission(submission('s1'));
      await registry.createSubmission(submission('s1', { recipe_name: 'other', request_id: 'req-2' }));

      expect(await registry.getSubmission('s1')).toEqual(submission('s1'));
    });

    it('claimApiKeys stores the first keys and hands the same ones to every later attempt', async () => {
      const original = submission('s1', { config: { resources: { memory: '64G', cpu: 1.5e1 } } });
      await registry.createSubmission(original);

      expect(await registry.claimApiKeys('s1', ['a0', 'a1'])).toEqual(['a0', 'a1']);
      expect(await registry.claimApiKeys('s1', ['b0', 'b1'])).toEqual(['a0', 'a1']);
      expect(await registry.getSubmission('s1')).toEqual({ ...original, api_keys: ['a0', 'a1'] });
      expect(await redis.ttl(`${prefix}:submission:s1`)).toBeGreaterThan(0);
      expect(await registry.claimApiKeys('missing', ['c0'])).toBeUndefined();
      expect(await redis.exists(`${prefix}:submission:missing`)).toBe(0);
    });

    it('claimApiKeys gives racing attempts one set of keys', async () => {
      await registry.createSubmission(submission('s2'));
      const claims = await Promise.all(
        Array.from({ length: 20 }, (_, i) => registry.claimApiKeys('s2', [`k${i}`])),
      );
      expect(new Set(claims.map((keys) => keys?.[0])).size).toBe(1);
    });

    it('markSubmitted drops the API keys with the config', async () => {
      const original = submission('s3');
      await registry.createSubmission(original);
      await registry.claimApiKeys('s3', ['secret-key-0']);

      await registry.markSubmitted((await registry.getSubmission('s3'))!, '4243');

      expect(await registry.getSubmission('s3')).toEqual({ ...original, config: {}, job_id: '4243' });
      expect(await redis.get(`${prefix}:submission:s3`)).not.toContain('secret-key-0');
    });

    it('markSubmitted drops the config (and its secrets) and keeps the job id', async () => {
      const original = submission('s1');
      await registry.createSubmission(original);

      await registry.markSubmitted(original, '4242');

      const read = await registry.getSubmission('s1');
      expect(read).toEqual({ ...original, config: {}, job_id: '4242' });
      expect(await redis.get(`${prefix}:submission:s1`)).not.toContain('hf_secret');
      expect(await redis.ttl(`${prefix}:submission:s1`)).toBeGreaterThan(0);
    });
  });

  describe('idle stop', () => {
    const running = (id: string) =>
      service(id, {
        config: { idle_timeout: 0.2 },
        scheduler_state: 'RUNNING',
        ready: true,
        endpoint: 'http://node1:8001',
        api_key: 'key-1',
      });
    const TIMEOUT_MS = 12_000;

    it('marks a service unused for its timeout idle: out of the active set, in the idle set, status idle', async () => {
      await registry.createService(running('7'));
      await registry.recordUse(['7'], at(0).getTime());

      expect(await registry.markIdle('7', '7', TIMEOUT_MS, at(12))).toBe('marked');
      const stored = await registry.get('7');
      expect(stored).toMatchObject({ idle_since: at(12).toISOString(), ready: false, endpoint: null });
      expect(toServiceRecord(stored!).status).toBe('idle');
      expect(await registry.activeIds()).toEqual([]);
      expect(await registry.idleIds()).toEqual(['7']);
    });

    it('keeps a service used after the decision, and refuses another job or a terminal record', async () => {
      await registry.createService(running('7'));
      await registry.recordUse(['7'], at(5).getTime());
      expect(await registry.markIdle('7', '7', TIMEOUT_MS, at(12))).toBe('used');
      expect(await registry.markIdle('7', 'other-job', TIMEOUT_MS, at(30))).toBe('not-running');
      await registry.applySchedulerState('7', { state: 'CANCELLED' });
      expect(await registry.markIdle('7', '7', TIMEOUT_MS, at(30))).toBe('not-running');
      expect((await registry.get('7'))?.idle_since).toBeUndefined();
    });

    it('ignores scheduler news and readiness for an idle record, so a late poll cannot end it', async () => {
      await registry.createService(running('7'));
      await registry.markIdle('7', '7', TIMEOUT_MS, at(12));

      expect(await registry.applySchedulerState('7', { jobId: '7', state: 'CANCELLED' })).toBe(false);
      await registry.setReadiness('7', true);
      const stored = await registry.get('7');
      expect(stored?.scheduler_state).toBe('RUNNING');
      expect(toServiceRecord(stored!).status).toBe('idle');
    });

    it('puts the new job in place once, whatever number of wakes race', async () => {
      await registry.createService(running('7'));
      await registry.markIdle('7', '7', TIMEOUT_MS, at(12));
      await registry.requestWake('7', at(20).getTime());
      expect(await registry.wakeRequests()).toEqual(['7']);

      const results = await Promise.all([
        registry.recordWake(
          '7',
          '7',
          { jobId: '9', generation: 2, apiKey: 'key-1', jobDir: '/j/9', generations: [] },
          at(21),
        ),
        registry.recordWake(
          '7',
          '7',
          { jobId: '10', generation: 2, apiKey: 'key-1', jobDir: '/j/10', generations: [] },
          at(21),
        ),
      ]);
      expect(results.sort()).toEqual([false, true]);
      const stored = await registry.get('7');
      expect(stored).toMatchObject({ id: '7', generation: 2, scheduler_state: 'PENDING', ready: false });
      expect(['9', '10']).toContain(stored?.job_id);
      // The woken job's id resolves to the service, as every generation's does.
      expect((await registry.get(stored!.job_id))?.id).toBe('7');
      const lost = stored?.job_id === '9' ? '10' : '9';
      expect(await registry.get(lost)).toBeUndefined();
      expect(stored?.idle_since).toBeUndefined();
      expect(await registry.activeIds()).toEqual(['7']);
      expect(await registry.idleIds()).toEqual([]);
      expect(await registry.wakeRequests()).toEqual([]);
      // News of the stopped job no longer applies; news of the new one does.
      expect(await registry.applySchedulerState('7', { jobId: '7', state: 'CANCELLED' })).toBe(false);
      expect(await registry.applySchedulerState('7', { jobId: stored!.job_id, state: 'RUNNING' })).toBe(true);
    });

    it("fills the woken job's generation start from its first observed start", async () => {
      await registry.createService({
        ...running('7'),
        timeline: { submitted_at: null, started_at: at(0).toISOString(), ready_at: null, ended_at: null },
      });
      await registry.markIdle('7', '7', TIMEOUT_MS, at(12));
      const generations = [
        { job_id: '7', started_at: at(0).toISOString(), ended_at: at(12).toISOString() },
        { job_id: '9', started_at: null, ended_at: null },
      ];
      expect(
        await registry.recordWake('7', '7', { jobId: '9', generation: 2, jobDir: '/j/9', generations }),
      ).toBe(true);
      await registry.applySchedulerState('7', { jobId: '9', state: 'PENDING' });
      expect((await registry.get('7'))?.generations?.[1]?.started_at).toBeNull();

      const started = at(30).toISOString();
      await registry.applySchedulerState('7', { jobId: '9', state: 'RUNNING', generationStartedAt: started });
      expect((await registry.get('7'))?.generations).toEqual([
        generations[0],
        { job_id: '9', started_at: started, ended_at: null },
      ]);
    });

    it("a user's cancel ends an idle record at once", async () => {
      await registry.createService(running('7'));
      await registry.markIdle('7', '7', TIMEOUT_MS, at(12));
      await registry.requestWake('7');

      expect(await registry.cancelIdle('7', at(13))).toBe(true);
      expect(toServiceRecord((await registry.get('7'))!).status).toBe('cancelled');
      expect(await registry.idleIds()).toEqual([]);
      expect(await registry.wakeRequests()).toEqual([]);
      expect(
        await registry.recordWake('7', '7', { jobId: '9', generation: 2, jobDir: '/j/9', generations: [] }),
      ).toBe(false);
      expect(await registry.cancelIdle('7')).toBe(false);
    });

    it('keeps the config of a submission with an idle timeout, secrets included, without expiry', async () => {
      const withIdle: Submission = {
        id: 's1',
        recipe_name: 'inference/vllm',
        config: { environment: { HF_TOKEN: 'hf_secret' }, idle_timeout: 5 },
        request_id: 'req-s1',
        created_at: at(0).toISOString(),
        api_keys: ['k'],
      };
      await registry.createSubmission(withIdle);
      await registry.markSubmitted(withIdle, '7');

      const kept = await registry.getSubmission('s1');
      expect(kept?.config).toEqual(withIdle.config);
      expect(kept?.job_id).toBe('7');
      expect(kept?.api_keys).toBeUndefined();
      expect(await redis.ttl(`${prefix}:submission:s1`)).toBe(-1);
    });
  });
});
