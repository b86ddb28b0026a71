import type { ServiceRegistry, StoredService } from '@aiplane/registry';
import { storedService } from '@aiplane/testing';
import { AppError, type Logger } from '@aiplane/server-kit';
import { WorkloadCaller } from '../routing/workload.caller';
import {
  UpstreamConnectError,
  UpstreamTimeoutError,
  type UpstreamClient,
  type UpstreamResponse,
  type Workload,
} from '../upstream/upstream.client';
import { MetricsService } from './metrics.service';

const WORKLOAD_TEXT = [
  '# HELP vllm:num_requests_running Number of requests currently running on GPU.',
  '# TYPE vllm:num_requests_running gauge',
  'vllm:num_requests_running{model_name="gpt2"} 0',
  '',
].join('\n');

function setup(services: StoredService[], answer: () => Promise<UpstreamResponse>) {
  const readiness: [string, boolean][] = [];
  const requests: [string, string, string][] = [];
  const workloads: Workload[] = [];
  const registry = {
    get: (id: string) => Promise.resolve(services.find((service) => service.id === id)),
    setReadiness: (id: string, ready: boolean) => {
      readiness.push([id, ready]);
      return Promise.resolve();
    },
  } as unknown as ServiceRegistry;
  const upstream = {
    request: (workload: Workload, method: string, path: string) => {
      requests.push([workload.endpoint, method, path]);
      workloads.push(workload);
      return answer();
    },
  } as unknown as UpstreamClient;
  const logger = { warn: () => undefined } as unknown as Logger;
  const caller = new WorkloadCaller(registry, logger);
  return { service: new MetricsService(registry, caller, upstream, logger), readiness, requests, workloads };
}

const ok =
  (text: string, status = 200) =>
  () =>
    Promise.resolve({ status, headers: {}, body: Buffer.from(text) } satisfies UpstreamResponse);

async function failure(run: Promise<unknown>): Promise<AppError> {
  try {
    await run;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

describe('MetricsService', () => {
  it("relabels a running service's metrics and adds the status gauge", async () => {
    const { service, requests } = setup([storedService('101')], ok(WORKLOAD_TEXT));
    expect(await service.scrape('101', 'vllm')).toBe(
      [
        '# HELP vllm:num_requests_running Number of requests currently running on GPU.',
        '# TYPE vllm:num_requests_running gauge',
        'vllm:num_requests_running{model_name="gpt2",service_id="101",replica_id="101:8002"} 0',
        '',
        '# HELP aiplane_service_up Whether the service is running (1) or not (0); the status label says which state it is in.',
        '# TYPE aiplane_service_up gauge',
        'aiplane_service_up{service_id="101",status="running"} 1',
        '',
      ].join('\n'),
    );
    expect(requests).toEqual([['http://node-1:8002', 'GET', '/metrics']]);
  });

  it("scrapes with the workload's own record, so the request carries its API key", async () => {
    const { service, workloads } = setup([storedService('101', { api_key: 'k-101' })], ok(WORKLOAD_TEXT));
    await service.scrape('101');
    expect(workloads.map((workload) => workload.service.api_key)).toEqual(['k-101']);
  });

  it.each([
    ['pending', { scheduler_state: 'PENDING', endpoint: null, ready: false }],
    ['configuring', { scheduler_state: 'RUNNING', ready: false }],
    ['cancelled', { scheduler_state: 'CANCELLED', ready: false }],
  ] as const)('answers a %s service with the gauge alone, without calling it', async (status, overrides) => {
    const { service, requests } = setup([storedService('103', overrides)], ok(WORKLOAD_TEXT));
    const text = await service.scrape('103');
    expect(text).toContain(`aiplane_service_up{service_id="103",status="${status}"} 0\n`);
    expect(text).not.toContain('vllm:');
    expect(requests).toEqual([]);
  });

  it('answers 404 for an unknown id and for a service of another kind', async () => {
    const { service } = setup(
      [storedService('101'), storedService('301', { kind: 'qdrant' })],
      ok(WORKLOAD_TEXT),
    );
    expect((await failure(service.scrape('999'))).status).toBe(404);
    expect((await failure(service.scrape('301', 'vllm'))).message).toBe('vLLM service 301 not found');
    expect((await failure(service.scrape('101', 'qdrant'))).message).toBe('Vector DB service 101 not found');
    expect(await service.scrape('301')).toContain('replica_id="301:8002"');
  });

  it('marks a workload that refuses the connection down and answers 503', async () => {
    const { service, readiness } = setup([storedService('104')], () =>
      Promise.reject(new UpstreamConnectError('connect ECONNREFUSED')),
    );
    const error = await failure(service.scrape('104'));
    expect(error.status).toBe(503);
    expect(error.message).toBe('Replica 104:8002 of service 104 could not be reached: connect ECONNREFUSED');
    expect(error.details).toEqual({ attempted_replicas: ['104:8002'] });
    expect(readiness).toEqual([['104', false]]);
  });

  it('answers 504 when the workload does not answer in time', async () => {
    const { service } = setup([storedService('101')], () =>
      Promise.reject(new UpstreamTimeoutError('too slow')),
    );
    expect((await failure(service.scrape('101'))).status).toBe(504);
  });

  it('answers 502 for a workload error and for text that is not Prometheus format', async () => {
    expect((await failure(setup([storedService('101')], ok('boom', 500)).service.scrape('101'))).status).toBe(
      502,
    );
    const garbage = await failure(
      setup([storedService('101')], ok('<html>Bad Gateway</html>\n')).service.scrape('101'),
    );
    expect(garbage.status).toBe(502);
    expect(garbage.message).toContain('not Prometheus format');
  });
});
