import type { RolloverState } from '@aiplane/contracts';
import type { ServiceRegistry, StoredGroup, StoredService } from '@aiplane/registry';
import type { JobInfo } from '@aiplane/scheduler';
import { createLogger } from '@aiplane/server-kit';
import { RecordingScheduler, storedService } from '@aiplane/testing';
import { RolloverPlanner } from './rollover.planner';

const MIN = 60_000;

/** A registry holding the given records, recording what the planner writes. */
function fakeRegistry(records: StoredService[], startupSeconds: number | null) {
  const byId = new Map(records.map((record) => [record.id, record]));
  const writes: { rollover: [string, unknown][]; warnings: [string, string][]; promoted: string[] } = {
    rollover: [],
    warnings: [],
    promoted: [],
  };
  const promotedInto = new Map<string, string>();
  const registry = {
    getOwn: (id: string) => Promise.resolve(byId.get(id)),
    get: (id: string) => Promise.resolve(byId.get(promotedInto.get(id) ?? id)),
    getMany: (ids: string[]) => Promise.resolve(ids.map((id) => byId.get(id)).filter(Boolean)),
    getGroupView: () => Promise.resolve(undefined),
    longestStartupSeconds: () => Promise.resolve(startupSeconds),
    setRollover: (id: string, rollover: { state: RolloverState }) => {
      writes.rollover.push([id, rollover]);
      return Promise.resolve();
    },
    addWarning: (id: string, warning: string) => {
      writes.warnings.push([id, warning]);
      return Promise.resolve();
    },
    dropSubmissionConfig: () => Promise.resolve(),
    applySchedulerState: () => Promise.resolve(true),
    promoteSuccessor: (id: string, successor: string) => {
      writes.promoted.push(`${id}<-${successor}`);
      promotedInto.set(successor, id);
      const record = byId.get(id);
      if (record) byId.set(id, { ...record, successor_id: null });
      return Promise.resolve('promoted');
    },
  } as unknown as ServiceRegistry;
  return { registry, writes };
}

function running(id: string, startedMs: number, limitS: number): JobInfo {
  return {
    jobId: id,
    name: `aiplane-s${id}-g1`,
    state: 'RUNNING',
    nodes: ['vm'],
    submittedAt: new Date(startedMs - 2_000).toISOString(),
    startedAt: new Date(startedMs).toISOString(),
    timeLimitSeconds: limitS,
  };
}

function setup(
  records: StoredService[],
  startupSeconds: number | null = 10,
  startEstimate?: (jobDir: string) => string | undefined,
) {
  const { registry, writes } = fakeRegistry(records, startupSeconds);
  const scheduler = new RecordingScheduler({ kind: 'slurm', ...(startEstimate && { startEstimate }) });
  const planner = new RolloverPlanner(
    registry,
    scheduler,
    { ROLLOVER_MARGIN_MS: 5_000, ROLLOVER_DRAIN_MS: 2_000 },
    createLogger('slurm-worker', 'silent'),
  );
  const enqueued: [string, unknown, number | undefined][] = [];
  planner.enqueue = (name, payload, delayMs) => {
    enqueued.push([name, payload, delayMs]);
    return Promise.resolve(true);
  };
  return { planner, writes, enqueued, scheduler };
}

describe('RolloverPlanner, single services', () => {
  const now = Date.now();

  function service(overrides: Partial<StoredService> = {}): StoredService {
    return storedService('100', {
      rollover_state: 'scheduled',
      timeline: {
        submitted_at: new Date(now - 52_000).toISOString(),
        started_at: new Date(now - 50_000).toISOString(),
        ready_at: new Date(now - 45_000).toISOString(),
        ended_at: null,
      },
      ...overrides,
    });
  }

  it('does nothing while the limit is further away than the lead time', async () => {
    const record = service();
    // Started 50 s ago, 10 min limit: lead = 2 s queue + 10 s start-up + 5 s margin, not yet.
    const { planner, enqueued, writes } = setup([record]);
    await planner.afterPoll([record], new Map([['100', running('100', now - 50_000, 600)]]));
    expect(enqueued).toEqual([]);
    expect(writes.rollover).toEqual([]);
  });

  it('enqueues the next generation once the limit is within the lead time', async () => {
    const record = service();
    // Started 50 s ago with a 60 s limit: 10 s left < 17 s lead.
    const { planner, enqueued } = setup([record]);
    await planner.afterPoll([record], new Map([['100', running('100', now - 50_000, 60)]]));
    expect(enqueued).toEqual([['rollover', { serviceId: '100', generation: 2 }, undefined]]);
  });

  describe("with SLURM's start estimate for a successor", () => {
    const asked = (scheduler: RecordingScheduler) =>
      scheduler.calls.filter((call) => call.method === 'estimateStart').map((call) => call.jobDir);

    it('rolls over earlier for an estimated wait that ends before this job, asking once per generation', async () => {
      const record = service();
      // 5 of 10 minutes served; observed lead 17 s, but a successor would wait 4 min 48 s:
      // 288 s + 10 s + 5 s = 303 s > the 300 s left.
      const { planner, enqueued, scheduler } = setup([record], 10, () =>
        new Date(now + 288_000).toISOString(),
      );
      const jobs = new Map([['100', running('100', now - 5 * MIN, 600)]]);
      await planner.afterPoll([record], jobs);
      expect(enqueued).toEqual([['rollover', { serviceId: '100', generation: 2 }, undefined]]);
      await planner.afterPoll([record], jobs);
      expect(asked(scheduler)).toEqual([record.job_dir]);
      // The next generation is a new job (the registry holds this very record): it asks again.
      Object.assign(record, { job_id: '102', job_dir: '/jobs/g2', generation: 2 });
      await planner.afterPoll([record], new Map([['102', running('102', now - 5 * MIN, 600)]]));
      expect(asked(scheduler)).toEqual(['/nonexistent', '/jobs/g2']);
    });

    it('keeps the normal lead when a successor fits only after this job, and says so in the record', async () => {
      const record = service();
      const deadline = now - 5 * MIN + 10 * MIN;
      const { planner, enqueued, writes, scheduler } = setup([record], 10, () =>
        new Date(deadline).toISOString(),
      );
      const jobs = new Map([['100', running('100', now - 5 * MIN, 600)]]);
      await planner.afterPoll([record], jobs);
      await planner.afterPoll([record], jobs);
      expect(asked(scheduler)).toHaveLength(1);
      expect(enqueued).toEqual([]);
      expect(writes.rollover).toEqual([
        [
          '100',
          {
            state: 'scheduled',
            message: expect.stringMatching(
              new RegExp(
                `^the successor may not start in time: SLURM estimates .* start at ${new Date(deadline).toISOString()}, ` +
                  `not before this job's time limit at ${new Date(deadline).toISOString()}`,
              ),
            ) as unknown,
          },
        ],
      ]);
    });

    it('adds at most half the limit however long the estimated wait', async () => {
      const record = service();
      // 4 of 10 minutes served: a 5 min 50 s wait would make it due; capped at 5 min it is not.
      const { planner, enqueued } = setup([record], 10, () => new Date(now + 350_000).toISOString());
      await planner.afterPoll([record], new Map([['100', running('100', now - 4 * MIN, 600)]]));
      expect(enqueued).toEqual([]);
    });

    it('counts the observed wait alone when the scheduler gives no estimate, without asking again', async () => {
      const record = service();
      const { planner, enqueued, scheduler } = setup([record]);
      scheduler.failNext('estimateStart', new Error('slurmctld is away'));
      const jobs = new Map([['100', running('100', now - 5 * MIN, 600)]]);
      await planner.afterPoll([record], jobs);
      await planner.afterPoll([record], jobs);
      expect(asked(scheduler)).toHaveLength(1);
      expect(enqueued).toEqual([]);
    });

    it('does not ask while even the longest lead it could make is far away', async () => {
      const record = service();
      const { planner, scheduler } = setup([record], 10, () => new Date(now).toISOString());
      await planner.afterPoll([record], new Map([['100', running('100', now - 50_000, 600)]]));
      expect(asked(scheduler)).toEqual([]);
    });
  });

  it('turns rollover off with a warning when the limit is too short for any', async () => {
    const record = service();
    // A 15 s limit cannot hold 10 s of start-up plus a 17 s lead.
    const { planner, enqueued, writes } = setup([record]);
    await planner.afterPoll([record], new Map([['100', running('100', now - 5_000, 15)]]));
    expect(enqueued).toEqual([]);
    expect(writes.warnings[0]?.[1]).toMatch(/too short for a walltime rollover/);
    expect(writes.rollover).toEqual([['100', expect.objectContaining({ state: 'off' })]]);
  });

  it('waits for a first observed start-up before planning anything', async () => {
    const record = service({ timeline: { ...service().timeline, ready_at: null } });
    const { planner, enqueued } = setup([record], null);
    await planner.afterPoll([record], new Map([['100', running('100', now - 50_000, 60)]]));
    expect(enqueued).toEqual([]);
  });

  it('follows a queued successor, and says when it cannot serve before the limit', async () => {
    const successor = storedService('101', {
      scheduler_state: 'PENDING',
      ready: false,
      endpoint: null,
      rollover_of: '100',
      queue: { position: 1, reason: 'Resources', estimated_start: new Date(now + 5 * MIN).toISOString() },
    });
    const record = service({ successor_id: '101', rollover_state: 'successor_pending' });
    const { planner, writes } = setup([record, successor]);
    await planner.afterPoll([record, successor], new Map([['100', running('100', now - 50_000, 60)]]));
    expect(writes.rollover).toEqual([
      ['100', { state: 'late', message: expect.stringMatching(/successor job 101 \(queued: Resources\)/) }],
    ]);
  });

  it('lets a ready successor take over, and retires the old job after the drain', async () => {
    const successor = storedService('101', { rollover_of: '100', generation: 2 });
    const record = service({ successor_id: '101', rollover_state: 'successor_starting' });
    const { planner, writes, enqueued, scheduler } = setup([record, successor]);
    await planner.afterPoll([record, successor], new Map([['100', running('100', now - 50_000, 60)]]));
    expect(writes.promoted).toEqual(['100<-101']);
    expect(enqueued).toEqual([['retire', { serviceId: '100', generation: 1 }, 2_000]]);
    // The same pass still holds the successor's record as it read it: it is not an orphan.
    expect(scheduler.cancelled).toEqual([]);
  });

  it('cancels a successor whose service ended before it took over', async () => {
    const successor = storedService('101', { rollover_of: '100', scheduler_state: 'PENDING' });
    const record = service({ successor_id: '101', scheduler_state: 'TIMEOUT' });
    const { planner, scheduler } = setup([record, successor]);
    await planner.afterPoll([successor], new Map());
    expect(scheduler.cancelled).toEqual(['101']);
  });
});

describe('RolloverPlanner, replica groups', () => {
  const now = Date.now();
  const replica = (index: number, ready: boolean) => ({
    index,
    gpu_ids: [String(index)],
    endpoint: ready ? `http://vm:${8001 + index}` : null,
    ready,
    seen_ready: ready,
  });

  function groupSetup(nextReady: boolean) {
    const timeline = {
      submitted_at: new Date(now - 52_000).toISOString(),
      started_at: new Date(now - 50_000).toISOString(),
      ready_at: new Date(now - 45_000).toISOString(),
      ended_at: null,
    };
    const current = storedService('200', {
      group_id: 'sg-200',
      node_index: 0,
      replicas: [replica(0, true), replica(1, true)],
      timeline,
    });
    const next = storedService('201', {
      group_id: 'sg-200',
      node_index: 0,
      generation: 2,
      replicas: [replica(0, nextReady), replica(1, nextReady)],
    });
    let group: StoredGroup = {
      id: 'sg-200',
      job_ids: ['200'],
      name: 'inference/vllm-replicas-sg-200',
      recipe_name: 'inference/vllm-replicas',
      kind: 'vllm',
      config: {},
      created_at: timeline.submitted_at,
      submission_id: 's200',
      total_replicas: 2,
      gpu_per_replica: 1,
      base_port: 8001,
      rollover: { state: 'successor_pending', message: null },
      next_job_ids: ['201'],
    };
    const byId = new Map([
      ['200', current],
      ['201', next],
    ]);
    const registry = {
      getGroupView: () =>
        Promise.resolve({ group, jobs: group.job_ids.map((id) => byId.get(id)).filter(Boolean) }),
      getMany: (ids: string[]) => Promise.resolve(ids.map((id) => byId.get(id)).filter(Boolean)),
      longestStartupSeconds: () => Promise.resolve(5),
      updateGroup: (_id: string, change: (value: StoredGroup) => StoredGroup | undefined) => {
        const changed = change(group);
        if (changed) group = changed;
        return Promise.resolve(changed);
      },
    } as unknown as ServiceRegistry;
    const planner = new RolloverPlanner(
      registry,
      new RecordingScheduler({ kind: 'slurm' }),
      { ROLLOVER_MARGIN_MS: 5_000, ROLLOVER_DRAIN_MS: 2_000 },
      createLogger('slurm-worker', 'silent'),
    );
    const enqueued: [string, unknown, number | undefined][] = [];
    planner.enqueue = (name, payload, delayMs) => {
      enqueued.push([name, payload, delayMs]);
      return Promise.resolve(true);
    };
    const jobs = new Map([
      ['200', running('200', now - 50_000, 60)],
      ['201', { ...running('201', now - 5_000, 60), name: 'aiplane-s200-g2-n0' }],
    ]);
    return { planner, enqueued, jobs, services: [current, next], read: () => group };
  }

  it('waits while a successor replica is not ready, saying it is starting', async () => {
    const { planner, enqueued, jobs, services, read } = groupSetup(false);
    await planner.afterPoll(services, jobs);
    expect(enqueued).toEqual([]);
    expect(read()).toMatchObject({ job_ids: ['200'], rollover: { state: 'successor_starting' } });
  });

  it('moves the group to its successor node jobs once every replica is ready, then retires the old ones', async () => {
    const { planner, enqueued, jobs, services, read } = groupSetup(true);
    await planner.afterPoll(services, jobs);
    expect(read()).toMatchObject({
      job_ids: ['201'],
      retiring_job_ids: ['200'],
      generation: 2,
      generations: [
        { job_id: '200', ended_at: null },
        { job_id: '201', ended_at: null },
      ],
      rollover: { state: 'draining' },
    });
    expect(read().next_job_ids).toBeUndefined();
    expect(read().first_timeline?.ready_at).not.toBeNull();
    expect(enqueued).toEqual([['retire', { serviceId: 'sg-200', generation: 1 }, 2_000]]);
  });
});
