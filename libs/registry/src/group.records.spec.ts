import { storedService } from '@aiplane/testing';
import { storedReplicaPort, toGroupRecord, toGroupStatus, toGroupSummary } from './group.records';
import type { StoredGroup, StoredService } from './registry.types';
import { toServiceRecord, type GroupView } from './service.registry';

const KEY = 'Zm9yLXRoZS1wcm94eS1vbmx5LW5ldmVyLWZvci1jbGllbnRz';

const job = (id: string, overrides: Partial<StoredService> = {}): StoredService =>
  storedService(id, { endpoint: 'http://node1:8001', node: 'node1', api_key: KEY, ...overrides });

function groupView(): GroupView {
  const group: StoredGroup = {
    id: 'sg-7',
    job_ids: ['7', '8'],
    name: 'inference/vllm-replicas-sg-7',
    recipe_name: 'inference/vllm-replicas',
    kind: 'vllm',
    config: {},
    created_at: '2025-01-01T00:00:00.000Z',
    submission_id: 's7',
    total_replicas: 2,
    gpu_per_replica: 1,
    base_port: 8001,
  };
  const replica = { index: 0, gpu_ids: ['0'], endpoint: 'http://node1:8001', ready: true, seen_ready: true };
  return {
    group,
    jobs: [
      job('7', { group_id: 'sg-7', node_index: 0, replicas: [replica], api_key: `${KEY}-7` }),
      job('8', { group_id: 'sg-7', node_index: 1, replicas: [replica], api_key: `${KEY}-8` }),
    ],
  };
}

/** Every way a record leaves the control plane is JSON. */
function expectNoKey(value: unknown): void {
  const text = JSON.stringify(value);
  expect(text).not.toContain(KEY);
  expect(text).not.toContain('api_key');
}

describe("records clients see leave the workload's API key out", () => {
  it('toServiceRecord', () => {
    const record = toServiceRecord(job('5'));
    expect(record.status).toBe('running');
    expectNoKey(record);
  });

  it('toGroupRecord, toGroupStatus and toGroupSummary', () => {
    const view = groupView();
    expect(toGroupRecord(view).node_jobs).toHaveLength(2);
    expectNoKey(toGroupRecord(view));
    expectNoKey(toGroupStatus(view));
    expectNoKey(toGroupSummary(view));
  });
});

describe('a replica whose endpoint was cleared', () => {
  it('keeps the id it had while it served (the port it last listened on), and shows as failed', () => {
    const view = groupView();
    const dead = {
      index: 0,
      gpu_ids: ['0'],
      endpoint: null,
      ready: false,
      seen_ready: true,
      last_port: 8001,
    };
    view.jobs[1] = { ...view.jobs[1]!, replicas: [dead], scheduler_state: 'RUNNING' };
    const status = toGroupStatus(view);
    expect(status.replica_statuses[1]).toMatchObject({ id: '8:8001', status: 'failed', healthy: false });
  });
});

describe('storedReplicaPort (the id the status, the records and the logs headings share)', () => {
  it('is the live endpoint’s port, else the last one, else null', () => {
    const replica = { index: 0, gpu_ids: [], ready: false, seen_ready: false };
    expect(storedReplicaPort({ ...replica, endpoint: 'http://node1:8002', last_port: 8001 })).toBe(8002);
    expect(storedReplicaPort({ ...replica, endpoint: null, last_port: 8001 })).toBe(8001);
    expect(storedReplicaPort({ ...replica, endpoint: null })).toBeNull();
  });
});

describe('queue: on a record exactly while it is pending', () => {
  const pendingJob = (id: string, queue?: StoredService['queue']): StoredService =>
    storedService(id, {
      scheduler_state: 'PENDING',
      ready: false,
      endpoint: null,
      ...(queue === undefined ? {} : { queue }),
    });

  it('a service: its stored queue while pending, unknown before the first poll, none once started', () => {
    const queue = { position: 2, reason: 'Resources', estimated_start: '2026-12-03T23:00:00.000Z' };
    expect(toServiceRecord(pendingJob('5', queue)).queue).toEqual(queue);
    expect(toServiceRecord(pendingJob('5')).queue).toEqual({
      position: null,
      reason: null,
      estimated_start: null,
    });
    expect(toServiceRecord(job('5', { queue })).status).toBe('running');
    expect(toServiceRecord(job('5', { queue }))).not.toHaveProperty('queue');
  });

  it('a group: each pending node job, and the one nearest to starting for the group', () => {
    const view = groupView();
    const later = { position: 3, reason: 'Priority', estimated_start: null };
    const sooner = { position: 1, reason: 'Resources', estimated_start: '2026-12-03T23:00:00.000Z' };
    view.jobs = view.jobs.map((nodeJob, index) => ({
      ...nodeJob,
      scheduler_state: 'PENDING' as const,
      queue: index === 0 ? later : sooner,
    }));
    const record = toGroupRecord(view);
    expect(record.status).toBe('pending');
    expect(record.node_jobs.map((nodeJob) => nodeJob.queue)).toEqual([later, sooner]);
    expect(record.queue).toEqual(sooner);
    expect(toGroupStatus(view).queue).toEqual(sooner);

    const running = groupView();
    expect(toGroupRecord(running)).not.toHaveProperty('queue');
    expect(toGroupStatus(running)).not.toHaveProperty('queue');
  });
});
