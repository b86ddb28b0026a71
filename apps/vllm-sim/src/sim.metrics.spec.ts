import { SimMetrics } from './sim.metrics';

const sample = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('SimMetrics', () => {
  const m = 'model_name="m"';

  it('starts with zeroed gauges and counters in its own registry', async () => {
    const text = await new SimMetrics('m', 100).render();
    expect(sample(text, `vllm:num_requests_running{${m}}`)).toBe(0);
    expect(sample(text, `vllm:num_requests_waiting{${m}}`)).toBe(0);
    expect(sample(text, `vllm:gpu_cache_usage_perc{${m}}`)).toBe(0);
    expect(sample(text, `vllm:prompt_tokens_total{${m}}`)).toBe(0);
    expect(sample(text, `vllm:generation_tokens_total{${m}}`)).toBe(0);
    // Nothing from prom-client's default (process) collectors.
    expect(text).not.toContain('process_cpu');
  });

  it('tracks a request lifecycle', async () => {
    const metrics = new SimMetrics('m', 100);
    metrics.setQueue(1, 2);
    metrics.firstToken(30, 0.05);
    metrics.tokensGenerated(1);
    metrics.tokensGenerated(4, 0.01);
    let text = await metrics.render();
    expect(sample(text, `vllm:num_requests_running{${m}}`)).toBe(1);
    expect(sample(text, `vllm:num_requests_waiting{${m}}`)).toBe(2);
    expect(sample(text, `vllm:gpu_cache_usage_perc{${m}}`)).toBeCloseTo(0.35);
    expect(sample(text, `vllm:prompt_tokens_total{${m}}`)).toBe(30);
    expect(sample(text, `vllm:generation_tokens_total{${m}}`)).toBe(5);
    expect(sample(text, `vllm:time_to_first_token_seconds_bucket{le="0.06",${m}}`)).toBe(1);
    expect(sample(text, `vllm:time_to_first_token_seconds_bucket{le="0.04",${m}}`)).toBe(0);
    expect(sample(text, `vllm:time_per_output_token_seconds_count{${m}}`)).toBe(4);

    metrics.finished('length', 0.4, 35);
    metrics.setQueue(0, 0);
    text = await metrics.render();
    expect(sample(text, `vllm:gpu_cache_usage_perc{${m}}`)).toBe(0);
    expect(sample(text, `vllm:request_success_total{${m},finished_reason="length"}`)).toBe(1);
    expect(sample(text, `vllm:e2e_request_latency_seconds_bucket{le="0.5",${m}}`)).toBe(1);
    expect(sample(text, `vllm:e2e_request_latency_seconds_bucket{le="0.3",${m}}`)).toBe(0);
  });

  it('caps cache usage at 1 and counts aborts without latency', async () => {
    const metrics = new SimMetrics('m', 10);
    metrics.firstToken(50, 0);
    expect(sample(await metrics.render(), `vllm:gpu_cache_usage_perc{${m}}`)).toBe(1);
    metrics.finished('abort', 3, 50);
    const text = await metrics.render();
    expect(sample(text, `vllm:request_success_total{${m},finished_reason="abort"}`)).toBe(1);
    expect(sample(text, `vllm:e2e_request_latency_seconds_count{${m}}`)).toBeUndefined();
  });
});
