import { readExposition, toPoint } from './metrics.rates';

// What the gateway answers for a group of two vLLM replicas: the workloads' text with service_id and
// replica_id added, histograms included (the parser must not trip on them).
const exposition = (finished: number, tokens: number, kv: [number, number]): string =>
  [
    '# HELP vllm:num_requests_running Number of requests in model execution batches.',
    '# TYPE vllm:num_requests_running gauge',
    'vllm:num_requests_running{engine="0",model_name="m",replica_id="7:8001",service_id="sg-7"} 1',
    'vllm:num_requests_running{engine="0",model_name="m",replica_id="7:8002",service_id="sg-7"} 2',
    '# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.',
    '# TYPE vllm:kv_cache_usage_perc gauge',
    `vllm:kv_cache_usage_perc{engine="0",model_name="m",replica_id="7:8001",service_id="sg-7"} ${String(kv[0])}`,
    `vllm:kv_cache_usage_perc{engine="0",model_name="m",replica_id="7:8002",service_id="sg-7"} ${String(kv[1])}`,
    '# HELP vllm:request_success_total Count of successfully processed requests.',
    '# TYPE vllm:request_success_total counter',
    `vllm:request_success_total{engine="0",finished_reason="stop",model_name="m",replica_id="7:8001",service_id="sg-7"} ${String(finished)}`,
    'vllm:request_success_total{engine="0",finished_reason="length",model_name="m",replica_id="7:8002",service_id="sg-7"} 1',
    '# HELP vllm:generation_tokens_total Number of generation tokens processed.',
    '# TYPE vllm:generation_tokens_total counter',
    `vllm:generation_tokens_total{engine="0",model_name="m",replica_id="7:8001",service_id="sg-7"} ${String(tokens)}`,
    '# HELP vllm:e2e_request_latency_seconds Histogram of e2e request latency in seconds.',
    '# TYPE vllm:e2e_request_latency_seconds histogram',
    'vllm:e2e_request_latency_seconds_bucket{engine="0",le="1.0",model_name="m"} 3',
    'vllm:e2e_request_latency_seconds_bucket{engine="0",le="+Inf",model_name="m"} 4',
    'vllm:e2e_request_latency_seconds_sum{engine="0",model_name="m"} 2.5',
    'vllm:e2e_request_latency_seconds_count{engine="0",model_name="m"} 4',
  ].join('\n');

describe('the dashboard’s metrics', () => {
  it('sums gauges and counters over replicas and averages the KV-cache use', () => {
    expect(readExposition(exposition(3, 100, [0.25, 0.75]), 10)).toEqual({
      at: 10,
      running: 3,
      finished: 4,
      generated: 100,
      kvCache: 0.5,
    });
  });

  it('derives per-second rates from two readings, none from the first', () => {
    const first = readExposition(exposition(3, 100, [0.1, 0.1]), 10);
    const second = readExposition(exposition(5, 160, [0.2, 0.4]), 14);
    expect(toPoint(undefined, first)).toEqual({
      at: 10,
      running: 3,
      finishedPerSecond: null,
      tokensPerSecond: null,
      kvCachePercent: expect.closeTo(10, 6),
    });
    expect(toPoint(first, second)).toEqual({
      at: 14,
      running: 3,
      finishedPerSecond: 0.5,
      tokensPerSecond: 15,
      kvCachePercent: expect.closeTo(30, 6),
    });
  });

  it('reads a counter that went down as reset (the workload restarted), never a negative rate', () => {
    const before = readExposition(exposition(50, 5_000, [0, 0]), 0);
    const after = readExposition(exposition(1, 40, [0, 0]), 2);
    expect(toPoint(before, after).tokensPerSecond).toBe(20);
    expect(toPoint(before, after).finishedPerSecond).toBe(1);
  });

  it('shows no KV-cache line for a workload that does not report it', () => {
    const text = '# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running 0';
    expect(readExposition(text, 1).kvCache).toBeUndefined();
  });

  it.each([
    ['a Qdrant service', '# TYPE app_info gauge\napp_info{name="qdrant"} 1'],
    ['an HTML page', '<html><body>Bad gateway</body></html>'],
  ])('says which families are missing in the metrics of %s', (_what, text) => {
    expect(() => readExposition(text, 1)).toThrow(
      /none of vllm:num_requests_running, vllm:request_success_total, .*is this a vLLM service/,
    );
  });
});
