import type { RolloverState } from '@aiplane/contracts';
import type { ServiceRegistry, StoredService } from '@aiplane/registry';
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

function setup(records: StoredService[], startupSeconds: number | null = 10) {
  const { registry, writes } = fakeRegistry(records, startupSeconds);
  const scheduler = new RecordingScheduler({ kind: 'slurm' });
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
