import { Counter, Gauge, Histogram, Registry } from 'prom-client';

import type { FinishReason } from './generation';

export type FinishedReason = FinishReason | 'abort';

// Bucket boundaries as vLLM v0.11.0 declares them (vllm/v1/metrics/loggers.py), so dashboards built on real
// servers read the simulator alike.
const TTFT_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0,
  80.0, 160.0, 640.0, 2560.0,
];
const TOKEN_LATENCY_BUCKETS = [
  0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
];
const REQUEST_LATENCY_BUCKETS = [
  0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0,
  960.0, 1920.0, 7680.0,
];
const ITERATION_TOKEN_BUCKETS = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];
const N_BUCKETS = [1, 2, 5, 10, 20];

// The engine reports one request's end with a reason of each kind; all three series exist from the start.
const FINISHED_REASONS: readonly FinishedReason[] = ['stop', 'length', 'abort'];

/** 1, 2, 5, 10, 20, 50, ... up to `max`: vLLM's buckets for per-request token counts. */
export function oneTwoFiveBuckets(max: number): number[] {
  const buckets: number[] = [];
  for (let exponent = 0; ; exponent++) {
    for (const mantissa of [1, 2, 5]) {
      const value = mantissa * 10 ** exponent;
      if (value > max) return buckets;
      buckets.push(value);
    }
  }
}

export interface SimMetricsOptions {
  /** Labels every series as model_name, as vLLM does with the first served model name. */
  modelName: string;
  maxModelLen: number;
  /** How many tokens the pretend KV cache holds: the denominator of kv_cache_usage_perc. */
  kvCapacityTokens: number;
  gpuMemoryUtilization: number;
}

/** Where a finished request spent its time, in seconds, as vLLM's per-request histograms split it. */
export interface RequestTimings {
  e2e: number;
  queued: number;
  prefill: number;
  decode: number;
}

export interface RequestTokens {
  prompt: number;
  generation: number;
  /** The request's own max_tokens, when it set one. */
  maxTokensParam: number | undefined;
}

type Labels = 'engine' | 'model_name';

/**
 * The Prometheus families vLLM v0.11.0 exposes by default (recipes/releases/vllm-openai-v0.11.0.json), in a
 * registry of their own so nothing else leaks into /metrics. prom-client appends `_total` to no counter name, so
 * counters are declared with their exposed names.
 */
export class SimMetrics {
  readonly registry = new Registry();
  private readonly labels: { engine: string; model_name: string };
  private readonly running: Gauge<Labels>;
  private readonly waiting: Gauge<Labels>;
  private readonly kvCacheUsage: Gauge<Labels>;
  private readonly prefixQueries: Counter<Labels>;
  private readonly promptTokens: Counter<Labels>;
  private readonly generationTokens: Counter<Labels>;
  private readonly success: Counter<Labels | 'finished_reason'>;
  private readonly requestPromptTokens: Histogram<Labels>;
  private readonly requestGenerationTokens: Histogram<Labels>;
  private readonly iterationTokens: Histogram<Labels>;
  private readonly maxGenerationTokens: Histogram<Labels>;
  private readonly paramsN: Histogram<Labels>;
  private readonly paramsMaxTokens: Histogram<Labels>;
  private readonly ttft: Histogram<Labels>;
  private readonly tpot: Histogram<Labels>;
  private readonly interTokenLatency: Histogram<Labels>;
  private readonly e2e: Histogram<Labels>;
  private readonly queueTime: Histogram<Labels>;
  private readonly inferenceTime: Histogram<Labels>;
  private readonly prefillTime: Histogram<Labels>;
  private readonly decodeTime: Histogram<Labels>;
  private readonly kvCapacityTokens: number;
  private kvTokens = 0;

  constructor(options: SimMetricsOptions) {
    // Key order is output order; prometheus_client writes labels sorted by name.
    this.labels = { engine: '0', model_name: options.modelName };
    this.kvCapacityTokens = options.kvCapacityTokens;
    const registers = [this.registry];
    const labelNames = ['engine', 'model_name'] as const;
    const tokenBuckets = oneTwoFiveBuckets(options.maxModelLen);
    const gauge = (name: string, help: string): Gauge<Labels> =>
      new Gauge({ name, help, labelNames, registers });
    const counter = (name: string, help: string): Counter<Labels> =>
      new Counter({ name, help, labelNames, registers });
    const histogram = (name: string, help: string, buckets: number[]): Histogram<Labels> =>
      new Histogram({ name, help, labelNames, buckets, registers });

    this.running = gauge('vllm:num_requests_running', 'Number of requests in model execution batches.');
    this.waiting = gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.');
    this.kvCacheUsage = gauge('vllm:kv_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.');
    this.prefixQueries = counter(
      'vllm:prefix_cache_queries_total',
      'Prefix cache queries, in terms of number of queried tokens.',
    );
    const prefixHits = counter(
      'vllm:prefix_cache_hits_total',
      'Prefix cache hits, in terms of number of cached tokens.',
    );
    const preemptions = counter(
      'vllm:num_preemptions_total',
      'Cumulative number of preemption from the engine.',
    );
    this.promptTokens = counter('vllm:prompt_tokens_total', 'Number of prefill tokens processed.');
    this.generationTokens = counter('vllm:generation_tokens_total', 'Number of generation tokens processed.');
    this.success = new Counter({
      name: 'vllm:request_success_total',
      help: 'Count of successfully processed requests.',
      labelNames: ['engine', 'finished_reason', 'model_name'],
      registers,
    });
    this.requestPromptTokens = histogram(
      'vllm:request_prompt_tokens',
      'Number of prefill tokens processed.',
      tokenBuckets,
    );
    this.requestGenerationTokens = histogram(
      'vllm:request_generation_tokens',
      'Number of generation tokens processed.',
      tokenBuckets,
    );
    this.iterationTokens = histogram(
      'vllm:iteration_tokens_total',
      'Histogram of number of tokens per engine_step.',
      ITERATION_TOKEN_BUCKETS,
    );
    this.maxGenerationTokens = histogram(
      'vllm:request_max_num_generation_tokens',
      'Histogram of maximum number of requested generation tokens.',
      tokenBuckets,
    );
    this.paramsN = histogram('vllm:request_params_n', 'Histogram of the n request parameter.', N_BUCKETS);
    this.paramsMaxTokens = histogram(
      'vllm:request_params_max_tokens',
      'Histogram of the max_tokens request parameter.',
      tokenBuckets,
    );
    this.ttft = histogram(
      'vllm:time_to_first_token_seconds',
      'Histogram of time to first token in seconds.',
      TTFT_BUCKETS,
    );
    this.tpot = histogram(
      'vllm:time_per_output_token_seconds',
      'Histogram of time per output token in seconds.DEPRECATED: Use vllm:inter_token_latency_seconds instead.',
      TOKEN_LATENCY_BUCKETS,
    );
    this.interTokenLatency = histogram(
      'vllm:inter_token_latency_seconds',
      'Histogram of inter-token latency in seconds.',
      TOKEN_LATENCY_BUCKETS,
    );
    this.e2e = histogram(
      'vllm:e2e_request_latency_seconds',
      'Histogram of e2e request latency in seconds.',
      REQUEST_LATENCY_BUCKETS,
    );
    this.queueTime = histogram(
      'vllm:request_queue_time_seconds',
      'Histogram of time spent in WAITING phase for request.',
      REQUEST_LATENCY_BUCKETS,
    );
    this.inferenceTime = histogram(
      'vllm:request_inference_time_seconds',
      'Histogram of time spent in RUNNING phase for request.',
      REQUEST_LATENCY_BUCKETS,
    );
    this.prefillTime = histogram(
      'vllm:request_prefill_time_seconds',
      'Histogram of time spent in PREFILL phase for request.',
      REQUEST_LATENCY_BUCKETS,
    );
    this.decodeTime = histogram(
      'vllm:request_decode_time_seconds',
      'Histogram of time spent in DECODE phase for request.',
      REQUEST_LATENCY_BUCKETS,
    );
    // An info metric carried as a gauge fixed at 1; vLLM labels it with its CacheConfig, without model_name.
    new Gauge({
      name: 'vllm:cache_config_info',
      help: 'Information of the LLMEngine CacheConfig',
      labelNames: ['block_size', 'cache_dtype', 'enable_prefix_caching', 'engine', 'gpu_memory_utilization'],
      registers,
    }).set(
      {
        block_size: '16',
        cache_dtype: 'auto',
        enable_prefix_caching: 'True',
        engine: '0',
        gpu_memory_utilization: String(options.gpuMemoryUtilization),
      },
      1,
    );

    // vLLM binds every labelled child at start, so scrapers see zeros rather than missing series.
    for (const g of [this.running, this.waiting, this.kvCacheUsage]) g.set(this.labels, 0);
    for (const c of [this.prefixQueries, prefixHits, preemptions, this.promptTokens, this.generationTokens])
      c.inc(this.labels, 0);
    for (const reason of FINISHED_REASONS) this.success.inc(this.reasonLabels(reason), 0);
    for (const h of this.histograms()) h.zero(this.labels);
  }

  setQueue(running: number, waiting: number): void {
    this.running.set(this.labels, running);
    this.waiting.set(this.labels, waiting);
  }

  /**
   * Prefill done: the prompt now occupies cache and the first token is out.
   */
  firstToken(promptTokens: number, seconds: number): void {
    this.prefill(promptTokens, seconds);
    this.iterationTokens.observe(this.labels, promptTokens + 1);
    this.generationTokens.inc(this.labels, 1);
    this.useCache(promptTokens + 1);
  }

  /** A pooling (embedding) request's one engine step: a prefill that yields no token. */
  pooled(promptTokens: number, seconds: number): void {
    this.prefill(promptTokens, seconds);
    this.iterationTokens.observe(this.labels, promptTokens);
    this.useCache(promptTokens);
  }

  private prefill(promptTokens: number, seconds: number): void {
    this.promptTokens.inc(this.labels, promptTokens);
    // Nothing is ever cached across requests here, so every prompt token is a miss.
    this.prefixQueries.inc(this.labels, promptTokens);
    // Recorded per engine step, so a request aborted later has still been counted here.
    this.ttft.observe(this.labels, seconds);
  }

  /** One more decoded token, `seconds` after the previous one. */
  tokenGenerated(seconds: number): void {
    this.generationTokens.inc(this.labels, 1);
    this.iterationTokens.observe(this.labels, 1);
    this.interTokenLatency.observe(this.labels, seconds);
    this.tpot.observe(this.labels, seconds);
    this.useCache(1);
  }

  /** `cachedTokens`: what this request had put in the cache (prompt + generated so far), now freed. */
  finished(
    reason: FinishedReason,
    timings: RequestTimings,
    tokens: RequestTokens,
    cachedTokens: number,
  ): void {
    this.useCache(-cachedTokens);
    // vLLM 0.11 drops an aborted request from its output processor without recording it as finished, so the
    // finished_reason="abort" series stays at 0 and no per-request histogram sees it (vllm-project/vllm#31503,
    // #55634); only the per-step counters it already fed (prompt and generation tokens, TTFT) keep its trace.
    if (reason === 'abort') return;
    this.success.inc(this.reasonLabels(reason));
    // The request's n and its generated length (the longest of its n sequences) are taken when it finishes.
    this.paramsN.observe(this.labels, 1);
    this.maxGenerationTokens.observe(this.labels, tokens.generation);
    this.e2e.observe(this.labels, timings.e2e);
    this.queueTime.observe(this.labels, timings.queued);
    this.prefillTime.observe(this.labels, timings.prefill);
    this.decodeTime.observe(this.labels, timings.decode);
    this.inferenceTime.observe(this.labels, timings.prefill + timings.decode);
    this.requestPromptTokens.observe(this.labels, tokens.prompt);
    this.requestGenerationTokens.observe(this.labels, tokens.generation);
    if (tokens.maxTokensParam !== undefined) this.paramsMaxTokens.observe(this.labels, tokens.maxTokensParam);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  private histograms(): Histogram<Labels>[] {
    return [
      this.requestPromptTokens,
      this.requestGenerationTokens,
      this.iterationTokens,
      this.maxGenerationTokens,
      this.paramsN,
      this.paramsMaxTokens,
      this.ttft,
      this.tpot,
      this.interTokenLatency,
      this.e2e,
      this.queueTime,
      this.inferenceTime,
      this.prefillTime,
      this.decodeTime,
    ];
  }

  /** In name order, as prometheus_client writes them (prom-client keeps the order it is given). */
  private reasonLabels(reason: FinishedReason): Record<Labels | 'finished_reason', string> {
    return { engine: this.labels.engine, finished_reason: reason, model_name: this.labels.model_name };
  }

  private useCache(delta: number): void {
    this.kvTokens = Math.max(0, this.kvTokens + delta);
    this.kvCacheUsage.set(this.labels, Math.min(1, this.kvTokens / this.kvCapacityTokens));
  }
}
