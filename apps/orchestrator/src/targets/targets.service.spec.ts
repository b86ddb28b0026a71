import type { ScrapeOrigin } from '@aiplane/contracts';
import {
  toGroupRecord,
  type RegistryEntry,
  type ServiceRegistry,
  type StoredGroup,
  type StoredReplica,
  type StoredService,
} from '@aiplane/registry';
import { storedService } from '@aiplane/testing';
import { TargetsService } from './targets.service';

const ORCHESTRATOR: ScrapeOrigin = { host: 'login-node:8000', scheme: 'http', prefix: '/api' };
const KEY = 'a-workload-key-that-no-answer-may-show-0123456';

const stored = (id: string, overrides: Partial<StoredService> = {}): StoredService =>
  storedService(id, { endpoint: 'http://gpu-node-01:8002', node: 'gpu-node-01', api_key: KEY, ...overrides });

const replica = (index: number, ready: boolean, seenReady = ready): StoredReplica => ({
  index,
  gpu_ids: [String(index)],
  endpoint: `http://gpu-node-01:${8001 + index}`,
  ready,
  seen_ready: seenReady,
});

/** A one-node group whose replicas are `replicas`, its node job RUNNING unless said otherwise. */
function group(
  jobId: string,
  replicas: StoredReplica[],
  state: StoredService['scheduler_state'] = 'RUNNING',
) {
  const id = `sg-${jobId}`;
  const record: StoredGroup = {
    id,
    job_ids: [jobId],
    name: `inference/vllm-replicas-${id}`,
    recipe_name: 'inference/vllm-replicas',
    kind: 'vllm',
    config: {},
    created_at: '2025-01-01T00:00:00.000Z',
    submission_id: `s${jobId}`,
    total_replicas: replicas.length,
    gpu_per_replica: 1,
    base_port: 8001,
  };
  const job = stored(jobId, { group_id: id, node_index: 0, replicas, scheduler_state: state });
  return { type: 'group' as const, group: record, jobs: [job] };
}

const single = (service: StoredService): RegistryEntry => ({ type: 'service', service });

const withEntries = (entries: RegistryEntry[]) => {
  const service = new TargetsService({
    listEntries: () => Promise.resolve(entries),
  } as unknown as ServiceRegistry);
  return {
    /** The workloads' targets only: the control plane's come first in every answer (tested below). */
    targets: async (origin: ScrapeOrigin) =>
      (await service.targets(origin, false)).filter((target) => target.labels.kind !== 'control-plane'),
    all: (origin: ScrapeOrigin, viaGateway: boolean) => service.targets(origin, viaGateway),
  };
};

describe('TargetsService', () => {
  it("lists serving services and groups, each scraped at the control plane's metrics route", async () => {
    const targets = await withEntries([
      single(stored('3652098')),
      single(stored('3652099', { scheduler_state: 'PENDING', ready: false, endpoint: null })),
      single(stored('3652100', { ready: false })),
      single(stored('3652101', { scheduler_state: 'CANCELLED', ready: false })),
      single(
        stored('3652102', {
          kind: 'qdrant',
          recipe_name: 'vector-db/qdrant',
          endpoint: 'http://gpu-node-02:6333',
        }),
      ),
      group('3652103', [replica(0, true), replica(1, true)]),
    ]).targets(ORCHESTRATOR);
    expect(targets).toEqual([
      {
        targets: ['login-node:8000'],
        labels: {
          __metrics_path__: '/api/services/3652098/metrics',
          service_id: '3652098',
          recipe_name: 'inference/vllm-single-node',
          kind: 'vllm',
        },
      },
      {
        targets: ['login-node:8000'],
        labels: {
          __metrics_path__: '/api/services/3652102/metrics',
          service_id: '3652102',
          recipe_name: 'vector-db/qdrant',
          kind: 'qdrant',
        },
      },
      {
        targets: ['login-node:8000'],
        labels: {
          __metrics_path__: '/api/services/sg-3652103/metrics',
          service_id: 'sg-3652103',
          recipe_name: 'inference/vllm-replicas',
          kind: 'vllm',
        },
      },
    ]);
    expect(JSON.stringify(targets)).not.toContain(KEY);
  });

  it.each<[string, ReturnType<typeof group>, boolean]>([
    ['running', group('10', [replica(0, true), replica(1, true)]), true],
    ['partially_running', group('11', [replica(0, true), replica(1, false)]), true],
    ['degraded', group('12', [replica(0, true), replica(1, false, true)]), true],
    ['configuring', group('13', [replica(0, false), replica(1, false)]), false],
    ['failed', group('14', [replica(0, false, true)]), false],
    ['cancelled', group('15', [replica(0, false)], 'CANCELLED'), false],
  ])('gives a group that is %s one target only while it serves', async (status, entry, listed) => {
    expect(toGroupRecord(entry).status).toBe(status);
    const targets = await withEntries([entry]).targets(ORCHESTRATOR);
    expect(targets).toHaveLength(listed ? 1 : 0);
  });

  it("follows the caller's view of the API", async () => {
    const [entry] = await withEntries([single(stored('5'))]).targets({
      host: '127.0.0.1:8001',
      scheme: 'https',
      prefix: '/api/v1',
    });
    expect(entry).toEqual({
      targets: ['127.0.0.1:8001'],
      labels: {
        __metrics_path__: '/api/v1/services/5/metrics',
        __scheme__: 'https',
        service_id: '5',
        recipe_name: 'inference/vllm-single-node',
        kind: 'vllm',
      },
    });
  });

  it('lists no workload, not an error, when nothing runs', async () => {
    expect(await withEntries([]).targets(ORCHESTRATOR)).toEqual([]);
  });

  it('lists the control plane first, one target per app labelled `app`, the gateway only through it', async () => {
    const direct = await withEntries([single(stored('5'))]).all(ORCHESTRATOR, false);
    expect(direct.slice(0, 4)).toEqual(
      ['orchestrator', 'proxy', 'slurm-worker', 'health-prober'].map((app) => ({
        targets: ['login-node:8000'],
        labels: { __metrics_path__: `/api/metrics/${app}`, app, kind: 'control-plane' },
      })),
    );
    expect(direct[4]?.labels.service_id).toBe('5');
    const gateway: ScrapeOrigin = { host: '127.0.0.1:8001', scheme: 'http', prefix: '/api/v1' };
    const through = await withEntries([]).all(gateway, true);
    expect(through.map((target) => [target.labels.app, target.labels.__metrics_path__])).toEqual([
      ['gateway', '/api/v1/metrics/gateway'],
      ['orchestrator', '/api/v1/metrics/orchestrator'],
      ['proxy', '/api/v1/metrics/proxy'],
      ['slurm-worker', '/api/v1/metrics/slurm-worker'],
      ['health-prober', '/api/v1/metrics/health-prober'],
    ]);
  });
});
