import { oneTwoFiveBuckets, SimMetrics } from './sim.metrics';

const sample = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

const metricsFor = (kvCapacityTokens: number): SimMetrics =>
  new SimMetrics({ modelName: 'm', maxModelLen: 100, kvCapacityTokens, gpuMemoryUtilization: 0.9 });

const timings = { e2e: 0.4, queued: 0.01, prefill: 0.05, decode: 0.34 };

describe('SimMetrics', () => {
  const m = 'engine="0",model_name="m"';

  it('starts with zeroed gauges, counters and histograms in its own registry', async () => {
    const text = await metricsFor(100).render();
    expect(sample(text, `vllm:num_requests_running{${m}}`)).toBe(0);
    expect(sample(text, `vllm:num_requests_waiting{${m}}`)).toBe(0);
    expect(sample(text, `vllm:kv_cache_usage_perc{${m}}`)).toBe(0);
    expect(sample(text, `vllm:prompt_tokens_total{${m}}`)).toBe(0);
    expect(sample(text, `vllm:generation_tokens_total{${m}}`)).toBe(0);
    expect(
      sample(text, `vllm:request_success_total{engine="0",finished_reason="abort",model_name="m"}`),
    ).toBe(0);
    expect(sample(text, `vllm:e2e_request_latency_seconds_count{${m}}`)).toBe(0);
    expect(text).toContain(
      'vllm:cache_config_info{block_size="16",cache_dtype="auto",enable_prefix_caching="True",engine="0",gpu_memory_utilization="0.9"} 1',
    );
    // Nothing from prom-client's default (process) collectors.
    expect(text).not.toContain('process_cpu');
  });

  it('tracks a request lifecycle', async () => {
    const metrics = metricsFor(100);
    metrics.setQueue(1, 2);
    metrics.firstToken(30, 0.05);
    for (let i = 0; i < 4; i++) metrics.tokenGenerated(0.01);
    let text = await metrics.render();
    expect(sample(text, `vllm:num_requests_running{${m}}`)).toBe(1);
    expect(sample(text, `vllm:num_requests_waiting{${m}}`)).toBe(2);
    expect(sample(text, `vllm:kv_cache_usage_perc{${m}}`)).toBeCloseTo(0.35);
    expect(sample(text, `vllm:prompt_tokens_total{${m}}`)).toBe(30);
    expect(sample(text, `vllm:prefix_cache_queries_total{${m}}`)).toBe(30);
    expect(sample(text, `vllm:generation_tokens_total{${m}}`)).toBe(5);
    expect(sample(text, `vllm:time_to_first_token_seconds_bucket{le="0.06",${m}}`)).toBe(1);
    expect(sample(text, `vllm:time_to_first_token_seconds_bucket{le="0.04",${m}}`)).toBe(0);
    expect(sample(text, `vllm:inter_token_latency_seconds_count{${m}}`)).toBe(4);
    expect(sample(text, `vllm:time_per_output_token_seconds_count{${m}}`)).toBe(4);
    expect(sample(text, `vllm:iteration_tokens_total_sum{${m}}`)).toBe(35);
    // n and the generated length are taken at the end, as vLLM's output processor does.
    expect(sample(text, `vllm:request_max_num_generation_tokens_count{${m}}`)).toBe(0);

    metrics.finished('length', timings, { prompt: 30, generation: 5, maxTokensParam: 5 }, 35);
    metrics.setQueue(0, 0);
    text = await metrics.render();
    expect(sample(text, `vllm:kv_cache_usage_perc{${m}}`)).toBe(0);
    expect(
      sample(text, `vllm:request_success_total{engine="0",finished_reason="length",model_name="m"}`),
    ).toBe(1);
    expect(sample(text, `vllm:e2e_request_latency_seconds_bucket{le="0.5",${m}}`)).toBe(1);
    expect(sample(text, `vllm:e2e_request_latency_seconds_bucket{le="0.3",${m}}`)).toBe(0);
    expect(sample(text, `vllm:request_inference_time_seconds_sum{${m}}`)).toBeCloseTo(0.39);
    expect(sample(text, `vllm:request_prompt_tokens_sum{${m}}`)).toBe(30);
    expect(sample(text, `vllm:request_params_max_tokens_count{${m}}`)).toBe(1);
    expect(sample(text, `vllm:request_max_num_generation_tokens_sum{${m}}`)).toBe(5);
    expect(sample(text, `vllm:request_params_n_count{${m}}`)).toBe(1);
  });

  it('caps cache usage at 1 and keeps an abort out of the finished-request series, as vLLM 0.11 does', async () => {
    const metrics = metricsFor(10);
    metrics.firstToken(50, 0);
    expect(sample(await metrics.render(), `vllm:kv_cache_usage_perc{${m}}`)).toBe(1);
    metrics.finished('abort', timings, { prompt: 50, generation: 1, maxTokensParam: undefined }, 51);
    const text = await metrics.render();
    expect(sample(text, `vllm:kv_cache_usage_perc{${m}}`)).toBe(0);
    expect(
      sample(text, `vllm:request_success_total{engine="0",finished_reason="abort",model_name="m"}`),
    ).toBe(0);
    expect(sample(text, `vllm:e2e_request_latency_seconds_count{${m}}`)).toBe(0);
    expect(sample(text, `vllm:request_params_n_count{${m}}`)).toBe(0);
    expect(sample(text, `vllm:time_to_first_token_seconds_count{${m}}`)).toBe(1);
    expect(sample(text, `vllm:prompt_tokens_total{${m}}`)).toBe(50);
  });

  it('counts a pooling request as a prefill that finishes with no generated token', async () => {
    const metrics = metricsFor(100);
    metrics.pooled(7, 0.02);
    metrics.finished('stop', timings, { prompt: 7, generation: 0, maxTokensParam: undefined }, 7);
    const text = await metrics.render();
    expect(sample(text, `vllm:prompt_tokens_total{${m}}`)).toBe(7);
    expect(sample(text, `vllm:generation_tokens_total{${m}}`)).toBe(0);
    expect(sample(text, `vllm:request_success_total{engine="0",finished_reason="stop",model_name="m"}`)).toBe(
      1,
    );
    expect(sample(text, `vllm:kv_cache_usage_perc{${m}}`)).toBe(0);
  });

  it("builds vLLM's 1-2-5 token buckets up to the context length", () => {
    expect(oneTwoFiveBuckets(100)).toEqual([1, 2, 5, 10, 20, 50, 100]);
    expect(oneTwoFiveBuckets(4096)).toEqual([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000]);
  });
});
