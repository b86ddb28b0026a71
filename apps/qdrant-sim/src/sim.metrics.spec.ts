import { SimMetrics } from './sim.metrics';

const sample = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('SimMetrics', () => {
  const search = 'method="POST",endpoint="/collections/{name}/points/search"';

  it('reports app info and collection totals in its own registry', async () => {
    const metrics = new SimMetrics('1.18.2', () => ({ collections: 2, vectors: 30 }));
    const text = await metrics.render();
    expect(sample(text, 'app_info{name="qdrant",version="1.18.2"}')).toBe(1);
    expect(sample(text, 'app_status_recovery_mode')).toBe(0);
    expect(sample(text, 'collections_total')).toBe(2);
    expect(sample(text, 'collections_vector_total')).toBe(30);
    expect(sample(text, 'cluster_enabled')).toBe(0);
    // Nothing from prom-client's default (process) collectors.
    expect(text).not.toContain('process_cpu');
  });

  it('counts responses per method, route pattern and status, timing only the 200s', async () => {
    const metrics = new SimMetrics('1.18.2', () => ({ collections: 0, vectors: 0 }));
    metrics.restResponse('POST', '/collections/{name}/points/search', 200, 0.003);
    metrics.restResponse('POST', '/collections/{name}/points/search', 200, 0.0004);
    metrics.restResponse('POST', '/collections/{name}/points/search', 404, 0.0001);
    const text = await metrics.render();
    expect(sample(text, `rest_responses_total{${search},status="200"}`)).toBe(2);
    expect(sample(text, `rest_responses_total{${search},status="404"}`)).toBe(1);
    expect(sample(text, `rest_responses_fail_total{${search},status="404"}`)).toBe(0);
    expect(sample(text, `rest_responses_min_duration_seconds{${search},status="200"}`)).toBe(0.0004);
    expect(sample(text, `rest_responses_max_duration_seconds{${search},status="200"}`)).toBe(0.003);
    expect(sample(text, `rest_responses_avg_duration_seconds{${search},status="200"}`)).toBeCloseTo(0.0017);
    expect(sample(text, `rest_responses_duration_seconds_bucket{le="0.0005",${search},status="200"}`)).toBe(
      1,
    );
    expect(sample(text, `rest_responses_duration_seconds_bucket{le="0.005",${search},status="200"}`)).toBe(2);
    expect(sample(text, `rest_responses_duration_seconds_count{${search},status="200"}`)).toBe(2);
    expect(text).not.toContain(
      'rest_responses_duration_seconds_count{method="POST",endpoint="/collections/{name}/points/search",status="404"}',
    );
  });

  it('leaves out routes Qdrant does not meter', async () => {
    const metrics = new SimMetrics('1.18.2', () => ({ collections: 0, vectors: 0 }));
    metrics.restResponse('GET', '/collections', 200, 0.001);
    metrics.restResponse('PUT', '/collections/{name}', 200, 0.001);
    metrics.restResponse('GET', 'unknown', 404, 0.001);
    const text = await metrics.render();
    expect(text).not.toMatch(/^rest_responses_total\{/m);
  });
});
