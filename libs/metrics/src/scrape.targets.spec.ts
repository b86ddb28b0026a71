import type { ScrapeOrigin } from '@aiplane/contracts';
import { metricsPath, prometheusTargets, type ScrapeTarget } from './scrape.targets';

const GATEWAY: ScrapeOrigin = { host: '127.0.0.1:8001', scheme: 'http', prefix: '/api/v1' };

const target = (overrides: Partial<ScrapeTarget> = {}): ScrapeTarget => ({
  serviceId: '3652098',
  recipeName: 'inference/vllm-single-node',
  kind: 'vllm',
  status: 'running',
  ...overrides,
});

describe('prometheusTargets', () => {
  it("gives one HTTP SD entry per serving service, scraped at the API's metrics route", () => {
    expect(
      prometheusTargets(
        [
          target(),
          target({ serviceId: '3652100', recipeName: 'vector-db/qdrant', kind: 'qdrant' }),
          target({ serviceId: 'sg-3652101', recipeName: 'inference/vllm-replicas' }),
        ],
        GATEWAY,
      ),
    ).toEqual([
      {
        targets: ['127.0.0.1:8001'],
        labels: {
          __metrics_path__: '/api/v1/services/3652098/metrics',
          service_id: '3652098',
          recipe_name: 'inference/vllm-single-node',
          kind: 'vllm',
        },
      },
      {
        targets: ['127.0.0.1:8001'],
        labels: {
          __metrics_path__: '/api/v1/services/3652100/metrics',
          service_id: '3652100',
          recipe_name: 'vector-db/qdrant',
          kind: 'qdrant',
        },
      },
      {
        targets: ['127.0.0.1:8001'],
        labels: {
          __metrics_path__: '/api/v1/services/sg-3652101/metrics',
          service_id: 'sg-3652101',
          recipe_name: 'inference/vllm-replicas',
          kind: 'vllm',
        },
      },
    ]);
  });

  it('never names a workload or a replica: the scraped samples carry replica_id', () => {
    for (const entry of prometheusTargets([target()], GATEWAY)) {
      expect(entry.labels).not.toHaveProperty('replica_id');
      expect(entry.labels).not.toHaveProperty('job_id');
    }
  });

  it("follows the caller's scheme, host and prefix", () => {
    const [entry] = prometheusTargets([target()], {
      host: '[::1]:8443',
      scheme: 'https',
      prefix: '/cluster/api',
    });
    expect(entry).toEqual({
      targets: ['[::1]:8443'],
      labels: {
        __metrics_path__: '/cluster/api/services/3652098/metrics',
        __scheme__: 'https',
        service_id: '3652098',
        recipe_name: 'inference/vllm-single-node',
        kind: 'vllm',
      },
    });
  });

  it.each(['running', 'partially_running', 'degraded'])('lists a service or group that is %s', (status) => {
    expect(prometheusTargets([target({ status })], GATEWAY)).toHaveLength(1);
  });

  it.each(['pending', 'configuring', 'failed', 'cancelled', 'completed'])(
    'leaves out one that is %s',
    (status) => {
      expect(prometheusTargets([target({ status })], GATEWAY)).toEqual([]);
    },
  );

  it('leaves out a record whose id could not name a route, keeping the others', () => {
    const entries = prometheusTargets(
      [target({ serviceId: '../x' }), target({ serviceId: '' }), target({ serviceId: '7' })],
      GATEWAY,
    );
    expect(entries.map((entry) => entry.labels.service_id)).toEqual(['7']);
  });
});

describe('metricsPath', () => {
  it('is the services metrics route under the prefix', () => {
    expect(metricsPath('/api', 'sg-7')).toBe('/api/services/sg-7/metrics');
  });
});
