import { prometheusTargets, type ScrapeTarget } from './scrape.targets';

const target = (overrides: Partial<ScrapeTarget> = {}): ScrapeTarget => ({
  serviceId: '3652098',
  replicaId: '3652098:8002',
  endpoint: 'http://gpu-node-01:8002',
  recipeName: 'inference/vllm-single-node',
  jobId: '3652098',
  kind: 'vllm',
  status: 'running',
  ...overrides,
});

describe('prometheusTargets', () => {
  it('gives one HTTP SD entry per running workload, scraped directly at /metrics', () => {
    expect(
      prometheusTargets([
        target(),
        target({
          serviceId: '3652100',
          replicaId: '3652100:6333',
          endpoint: 'http://gpu-node-02:6333',
          recipeName: 'vector-db/qdrant',
          jobId: '3652100',
          kind: 'qdrant',
        }),
      ]),
    ).toEqual([
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
          service_id: '3652100',
          replica_id: '3652100:6333',
          recipe_name: 'vector-db/qdrant',
          job_id: '3652100',
          kind: 'qdrant',
        },
      },
    ]);
  });

  it('gives the replicas of a group one entry each, under the group id', () => {
    const replicas = [8001, 8002].map((port) =>
      target({ serviceId: 'sg-7', replicaId: `7:${port}`, endpoint: `http://n1:${port}`, jobId: '7' }),
    );
    expect(prometheusTargets(replicas).map((entry) => [entry.targets, entry.labels.replica_id])).toEqual([
      [['n1:8001'], '7:8001'],
      [['n1:8002'], '7:8002'],
    ]);
  });

  it.each(['pending', 'configuring', 'cancelled', 'failed'])('leaves out a workload that is %s', (status) => {
    expect(prometheusTargets([target({ status })])).toEqual([]);
  });

  it('leaves out a workload without endpoint or with one that is not an http URL', () => {
    for (const endpoint of [null, 'not a url', 'ftp://node:21']) {
      expect(prometheusTargets([target({ endpoint })])).toEqual([]);
    }
  });

  it('spells out default ports, keeps IPv6 brackets and asks for https where the endpoint uses it', () => {
    const [plain, secure, ipv6] = prometheusTargets([
      target({ endpoint: 'http://node' }),
      target({ endpoint: 'https://node' }),
      target({ endpoint: 'http://[::1]:8002/' }),
    ]);
    expect(plain?.targets).toEqual(['node:80']);
    expect(secure?.targets).toEqual(['node:443']);
    expect(secure?.labels.__scheme__).toBe('https');
    expect(ipv6?.targets).toEqual(['[::1]:8002']);
  });
});
