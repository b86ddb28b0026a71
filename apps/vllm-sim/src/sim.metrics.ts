import { Counter, Gauge, Histogram, Registry } from 'prom-client';

import type { FinishReason } from './generation';

export type FinishedReason = FinishReason | 'abort';

// Bucket boundaries as vLLM declares them, so dashboards built on real servers read the simulator alike.
const TTFT_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0,
  80.0, 160.0, 640.0, 2560.0,
];
const TPOT_BUCKETS = [
  0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
];
const E2E_BUCKETS = [
  0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0,
  960.0, 1920.0, 7680.0,
];

/** vLLM's Prometheus metrics, in a registry of their own so nothing else leaks into /metrics. */
export class SimMetrics {
  readonly registry = new Registry();
  private readonly labels: { model_name: string };
  private readonly running: Gauge<'model_name'>;
  private readonly waiting: Gauge<'model_name'>;
  private readonly cacheUsage: Gauge<'model_name'>;
  private readonly promptTokens: Counter<'model_name'>;
  private readonly generationTokens: Counter<'model_name'>;
  private readonly success: Counter<'model_name' | 'finished_reason'>;
  private readonly ttft: Histogram<'model_name'>;
  private readonly tpot: Histogram<'model_name'>;
  private readonly e2e: Histogram<'model_name'>;
  private kvTokens = 0;

  /** `kvCapacityTokens`: how many tokens the pretend GPU cache holds, the denominator of gpu_cache_usage_perc. */
  constructor(
    modelName: string,
    private readonly kvCapacityTokens: number,
  ) {
    this.labels = { model_name: modelName };
    const registers = [this.registry];
    const labelNames = ['model_name'] as const;
    this.running = new Gauge({
      name: 'vllm:num_requests_running',
      help: 'Number of requests currently running on GPU.',
      labelNames,
      registers,
    });
    this.waiting = new Gauge({
      name: 'vllm:num_requests_waiting',
      help: 'Number of requests waiting to be processed.',
      labelNames,
      registers,
    });
    this.cacheUsage = new Gauge({
      name: 'vllm:gpu_cache_usage_perc',
      help: 'GPU KV-cache usage. 1 means 100 percent usage.',
      labelNames,
      registers,
    });
    this.promptTokens = new Counter({
      name: 'vllm:prompt_tokens_total',
      help: 'Number of prefill tokens processed.',
      labelNames,
      registers,
    });
    this.generationTokens = new Counter({
      name: 'vllm:generation_tokens_total',
      help: 'Number of generation tokens processed.',
      labelNames,
      registers,
    });
    this.success = new Counter({
      name: 'vllm:request_success_total',
      help: 'Count of successfully processed requests.',
      labelNames: ['model_name', 'finished_reason'],
      registers,
    });
    this.ttft = new Histogram({
      name: 'vllm:time_to_first_token_seconds',
      help: 'Histogram of time to first token in seconds.',
      labelNames,
      buckets: TTFT_BUCKETS,
      registers,
    });
    this.tpot = new Histogram({
      name: 'vllm:time_per_output_token_seconds',
      help: 'Histogram of time per output token in seconds.',
      labelNames,
      buckets: TPOT_BUCKETS,
      registers,
    });
    this.e2e = new Histogram({
      name: 'vllm:e2e_request_latency_seconds',
      help: 'Histogram of end to end request latency in seconds.',
      labelNames,
      buckets: E2E_BUCKETS,
      registers,
    });
    // Present from the start, as on a real server, so scrapers see zeros rather than missing series.
    for (const gauge of [this.running, this.waiting, this.cacheUsage]) gauge.set(this.labels, 0);
    this.promptTokens.inc(this.labels, 0);
    this.generationTokens.inc(this.labels, 0);
  }

  setQueue(running: number, waiting: number): void {
    this.running.set(this.labels, running);
    this.waiting.set(this.labels, waiting);
  }

  /** Prefill done: the prompt now occupies cache and the first token is out. */
  firstToken(promptTokens: number, seconds: number): void {
    this.promptTokens.inc(this.labels, promptTokens);
    this.ttft.observe(this.labels, seconds);
    this.useCache(promptTokens);
  }

  tokensGenerated(count: number, secondsEach?: number): void {
    if (count <= 0) return;
    this.generationTokens.inc(this.labels, count);
    if (secondsEach !== undefined)
      for (let i = 0; i < count; i++) this.tpot.observe(this.labels, secondsEach);
    this.useCache(count);
  }

  /** `cachedTokens`: what this request had put in the cache (prompt + generated so far), now freed. */
  finished(reason: FinishedReason, e2eSeconds: number, cachedTokens: number): void {
    this.useCache(-cachedTokens);
    // vLLM's v1 engine counts aborted requests too, under finished_reason="abort", but not their latency.
    this.success.inc({ ...this.labels, finished_reason: reason });
    if (reason !== 'abort') this.e2e.observe(this.labels, e2eSeconds);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  private useCache(delta: number): void {
    this.kvTokens = Math.max(0, this.kvTokens + delta);
    this.cacheUsage.set(this.labels, Math.min(1, this.kvTokens / this.kvCapacityTokens));
  }
}
