import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SchedulerObservation, ServiceRegistry, StoredService } from '@aiplane/registry';
import { RecordingScheduler, storedService } from '@aiplane/testing';
import type { JobInfo } from '@aiplane/scheduler';
import { createLogger } from '@aiplane/server-kit';
import { PollHandler } from './poll.handler';

function service(id: string, jobDir: string): StoredService {
  return storedService(id, { job_dir: jobDir });
}

// Records whose jobs the scheduler no longer lists: what ended them while no worker was polling.
describe('PollHandler and jobs the scheduler has forgotten', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'aiplane-poll-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function poll(finished: Record<string, JobInfo> | undefined) {
    const services = [service('11', join(dir, 'a')), service('12', join(dir, 'b'))];
    const applied = new Map<string, SchedulerObservation>();
    const registry = {
      activeIds: () => Promise.resolve(services.map((s) => s.id)),
      getMany: () => Promise.resolve(services),
      applySchedulerState: (id: string, observation: SchedulerObservation) => {
        applied.set(id, observation);
        return Promise.resolve(true);
      },
    } as unknown as ServiceRegistry;
    // The scheduler lists none of them any more.
    const scheduler = new RecordingScheduler({
      kind: 'slurm',
      ...(finished ? { completionLog: finished } : {}),
    });
    return {
      handler: new PollHandler(registry, scheduler, createLogger('slurm-worker', 'silent'), {}),
      applied,
    };
  }

  it("takes the scheduler's completion log first: a cancelled or timed-out job is not called failed", async () => {
    const { handler, applied } = poll({
      '11': { jobId: '11', name: 'x', state: 'TIMEOUT', nodes: ['node1'], exitCode: 143 },
    });
    expect(await handler.handle()).toEqual({ tracked: 2, changed: 2 });
    expect(applied.get('11')).toEqual({
      state: 'TIMEOUT',
      node: 'node1',
      exitCode: 143,
      reason: null,
      endedAt: expect.any(String),
      jobId: '11',
    });
    // No log line for 12 and no exit status file: failed, and it says why.
    expect(applied.get('12')).toMatchObject({ state: 'FAILED', exitCode: null });
  });

  it("falls back to the script's own exit status when the scheduler keeps no log", async () => {
    const { handler, applied } = poll(undefined);
    for (const [name, code] of [
      ['a', '0'],
      ['b', '3'],
    ] as const) {
      const jobDir = join(dir, name);
      mkdirSync(jobDir);
      writeFileSync(join(jobDir, 'exit_code'), `${code}\n`);
    }
    await handler.handle();
    expect(applied.get('11')).toMatchObject({ state: 'COMPLETED', exitCode: 0 });
    expect(applied.get('12')).toMatchObject({ state: 'FAILED', exitCode: 3 });
  });
});

// Issue 10 item 4: replica endpoints were never cleared, and any host a job directory named was taken.
describe('PollHandler and replica endpoints', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'aiplane-poll-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function poll(replicas: StoredService['replicas'], files: Record<string, string>) {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const stored = storedService('21', { job_dir: dir, endpoint: null, node: 'gpu-07', replicas });
    const applied = new Map<string, SchedulerObservation>();
    const registry = {
      activeIds: () => Promise.resolve(['21']),
      getMany: () => Promise.resolve([stored]),
      applySchedulerState: (id: string, observation: SchedulerObservation) => {
        applied.set(id, observation);
        return Promise.resolve(true);
      },
    } as unknown as ServiceRegistry;
    const scheduler = new RecordingScheduler({
      kind: 'slurm',
      jobs: [{ jobId: '21', name: 'aiplane-x-g0', state: 'RUNNING', nodes: ['gpu-07'] }],
    });
    const handler = new PollHandler(registry, scheduler, createLogger('slurm-worker', 'silent'), {});
    return { handler, applied };
  }
  const replica = (index: number, endpoint: string | null) => ({
    index,
    gpu_ids: [String(index)],
    endpoint,
    ready: endpoint !== null,
    seen_ready: endpoint !== null,
  });

  it('clears the endpoint of a replica whose endpoint file the job removed (the replica ended)', async () => {
    const { handler, applied } = poll([replica(0, 'http://gpu-07:8001'), replica(1, 'http://gpu-07:8002')], {
      'endpoint.0': 'http://gpu-07:8001',
    });
    await handler.handle();
    expect(applied.get('21')?.replicaEndpoints).toEqual({ 1: null });
  });

  it("records a new endpoint on the job's node (bare or with a domain) and ignores one on another host", async () => {
    const { handler, applied } = poll([replica(0, null), replica(1, null), replica(2, null)], {
      'endpoint.0': 'http://gpu-07.cluster.local:8001',
      'endpoint.1': 'http://evil-host:8002',
      'endpoint.2': 'http://gpu-07:8003',
    });
    await handler.handle();
    expect(applied.get('21')?.replicaEndpoints).toEqual({
      0: 'http://gpu-07.cluster.local:8001',
      2: 'http://gpu-07:8003',
    });
  });

  it('changes nothing while every endpoint file matches the record', async () => {
    const { handler, applied } = poll([replica(0, 'http://gpu-07:8001')], {
      'endpoint.0': 'http://gpu-07:8001',
    });
    await handler.handle();
    expect(applied.size).toBe(0);
  });
});

// Issue 11 item 2: where a pending job stands, from the poll's one scheduler query.
describe('PollHandler and the queue', () => {
  function poll(stored: StoredService, job: JobInfo) {
    const applied = new Map<string, SchedulerObservation>();
    const registry = {
      activeIds: () => Promise.resolve([stored.id]),
      getMany: () => Promise.resolve([stored]),
      applySchedulerState: (id: string, observation: SchedulerObservation) => {
        applied.set(id, observation);
        return Promise.resolve(true);
      },
    } as unknown as ServiceRegistry;
    const scheduler = new RecordingScheduler({ kind: 'slurm', jobs: [job] });
    return {
      handler: new PollHandler(registry, scheduler, createLogger('slurm-worker', 'silent'), {}),
      applied,
    };
  }
  const queue = { position: 1, reason: 'Resources', estimated_start: '2026-12-03T23:00:00.000Z' };
  const pendingJob: JobInfo = {
    jobId: '31',
    name: 'aiplane-x-g0',
    state: 'PENDING',
    nodes: [],
    reason: 'Resources',
    queuePosition: 1,
    estimatedStart: '2026-12-03T23:00:00.000Z',
  };

  it('stores position, reason and estimate while pending', async () => {
    const { handler, applied } = poll(storedService('31', { endpoint: null, node: null }), pendingJob);
    await handler.handle();
    expect(applied.get('31')?.queue).toEqual(queue);
  });

  it('writes nothing while the queue is unchanged, and again when the position moves', async () => {
    const same = poll(
      storedService('31', { scheduler_state: 'PENDING', endpoint: null, node: null, queue }),
      pendingJob,
    );
    await same.handler.handle();
    expect(same.applied.size).toBe(0);
    const moved = poll(
      storedService('31', {
        scheduler_state: 'PENDING',
        endpoint: null,
        node: null,
        queue: { ...queue, position: 2 },
      }),
      pendingJob,
    );
    await moved.handler.handle();
    expect(moved.applied.get('31')?.queue).toEqual(queue);
  });

  it('clears it once the job left the queue, and never writes one for a job that was not queued', async () => {
    const started: JobInfo = { jobId: '31', name: 'aiplane-x-g0', state: 'RUNNING', nodes: ['gpu-07'] };
    const left = poll(storedService('31', { queue }), started);
    await left.handler.handle();
    expect(left.applied.get('31')?.queue).toBeNull();
    const never = poll(
      storedService('31', { scheduler_state: 'PENDING', endpoint: null, node: null }),
      started,
    );
    await never.handler.handle();
    expect(never.applied.get('31')).not.toHaveProperty('queue');
  });
});

describe('PollHandler and the generations of a woken service', () => {
  it("sends the current job's start for its generations entry until that has one", async () => {
    const startedAt = '2026-12-04T12:00:00.000Z';
    const running: JobInfo = {
      jobId: '40',
      name: 'aiplane-x-g2',
      state: 'RUNNING',
      nodes: ['gpu-07'],
      startedAt,
    };
    const observed = async (generations: StoredService['generations']) => {
      const stored = storedService('31', {
        job_id: '40',
        generations,
        timeline: {
          submitted_at: null,
          started_at: '2026-12-04T11:00:00.000Z',
          ready_at: null,
          ended_at: null,
        },
      });
      let applied: SchedulerObservation | undefined;
      const registry = {
        activeIds: () => Promise.resolve([stored.id]),
        getMany: () => Promise.resolve([stored]),
        applySchedulerState: (_id: string, observation: SchedulerObservation) => {
          applied = observation;
          return Promise.resolve(true);
        },
      } as unknown as ServiceRegistry;
      const scheduler = new RecordingScheduler({ kind: 'slurm', jobs: [running] });
      await new PollHandler(registry, scheduler, createLogger('slurm-worker', 'silent'), {}).handle();
      return applied;
    };
    const first = {
      job_id: '31',
      started_at: '2026-12-04T11:00:00.000Z',
      ended_at: '2026-12-04T11:30:00.000Z',
    };

    const woken = await observed([first, { job_id: '40', started_at: null, ended_at: null }]);
    expect(woken?.generationStartedAt).toBe(startedAt);
    // The service's own timeline keeps its first start.
    expect(woken).not.toHaveProperty('startedAt');
    const known = await observed([first, { job_id: '40', started_at: startedAt, ended_at: null }]);
    expect(known?.generationStartedAt).toBeUndefined();
  });
});
