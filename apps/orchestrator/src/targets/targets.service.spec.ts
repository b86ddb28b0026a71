import { storedService, type ServiceRegistry, type StoredService } from '@aiplane/registry';
import { TargetsService } from './targets.service';

const stored = (id: string, overrides: Partial<StoredService> = {}): StoredService =>
  storedService(id, { endpoint: 'http://gpu-node-01:8002', node: 'gpu-node-01', ...overrides });

const withRecords = (records: StoredService[]): TargetsService =>
  new TargetsService({
    listEntries: () => Promise.resolve(records.map((service) => ({ type: 'service', service }))),
  } as unknown as ServiceRegistry);

describe('TargetsService', () => {
  it('lists running workloads only, with the labels a dashboard groups by', async () => {
    const targets = await withRecords([
      stored('3652098'),
      stored('3652099', { scheduler_state: 'PENDING', ready: false, endpoint: null }),
      stored('3652100', { ready: false }),
      stored('3652101', { scheduler_state: 'CANCELLED', ready: false }),
      stored('3652102', {
        kind: 'qdrant',
        recipe_name: 'vector-db/qdrant',
        endpoint: 'http://gpu-node-02:6333',
      }),
    ]).targets();
    expect(targets).toEqual([
      {
        targets: ['gpu-node-01:8002'],
        labels: {
          __metrics_path__: '/metrics',
          service_id: '3652098',
          replica_id: '3652098:8002',
          recipe_name: 'inference/vllm-single-node',
          job_id: '3652098',
          kind: 'vllm',
        },
      },
      {
        targets: ['gpu-node-02:6333'],
        labels: {
          __metrics_path__: '/metrics',
          service_id: '3652102',
          replica_id: '3652102:6333',
          recipe_name: 'vector-db/qdrant',
          job_id: '3652102',
          kind: 'qdrant',
        },
      },
    ]);
  });

  it('is an empty list, not an error, when nothing runs or a record is malformed', async () => {
    expect(await withRecords([]).targets()).toEqual([]);
    expect(await withRecords([stored('1', { endpoint: 'not a url' })]).targets()).toEqual([]);
  });
});
