/** Which OpenAI route the requests go to. */
export type BenchApi = 'chat' | 'completions';

/** Validated options of one run (see `parseBenchOptions` for the input and its defaults). */
export interface BenchOptions {
  /** The gateway's base URL, without a trailing slash. */
  url: string;
  /** Send to this service's own OpenAI routes (`/api/v1/vllm/<id>/v1/...`). */
  serviceId: string | undefined;
  /** The `model` field; without a service id, the gateway routes by it (`/v1/...`). */
  model: string | undefined;
  api: BenchApi;
  /** Closed loop: this many workers, each sending its next request when its last one ends. */
  concurrency: number | undefined;
  /** Open loop: Poisson arrivals at this many requests per second. */
  rate: number | undefined;
  /** Open loop: arrivals beyond this many requests in flight wait for one to end (and are counted). */
  maxInFlight: number;
  /** Length of the synthetic prompts, in tokens (approximate, see `syntheticPrompt`); undefined with a dataset. */
  promptTokens: number | undefined;
  /** A JSONL file of prompts, used in turn. */
  dataset: string | undefined;
  /** `max_tokens` of every request. */
  outputTokens: number;
  /** Stop starting requests after this long (measured phase). */
  durationMs: number | undefined;
  /** Stop after starting this many requests (measured phase). */
  requests: number | undefined;
  /** Requests sent before the measured phase and left out of every figure. */
  warmup: number;
  /** Seeds the open loop's arrival times and the synthetic prompts' text. */
  seed: number;
  /** A request without its complete answer after this long is an error. */
  requestTimeoutMs: number;
  /**
   * Send vLLM's extensions: `ignore_eos` (so every answer is `max_tokens` long) and
   * `stream_options.continuous_usage_stats` (a token count on every chunk, which ITL is divided by).
   */
  vllmExtensions: boolean;
}

/** One prompt: a completion prompt or a chat conversation. */
export type BenchPrompt = { kind: 'text'; text: string } | { kind: 'messages'; messages: ChatMessage[] };

export interface ChatMessage {
  role: string;
  content: string;
}

/** What one request measured; times in milliseconds. */
export interface RequestResult {
  /** Set when the request failed: the HTTP status and message, the stream's error, or what was missing. */
  error: string | undefined;
  /** Ended by the caller's signal: neither a success nor an error. */
  aborted: boolean;
  /** Request start → first chunk with content. */
  ttftMs: number | undefined;
  /** One entry per output token after the first chunk's: each chunk's gap to the one before, divided per token. */
  itlMs: number[];
  /** Request start → `[DONE]`. */
  e2eMs: number | undefined;
  /** From the stream's usage, else the number of content chunks. */
  outputTokens: number;
  /** Whether every content chunk carried a token count (vLLM's continuous usage stats). */
  perChunkUsage: boolean;
}

/** Milliseconds (or counts) over the successful requests of the measured phase. */
export interface Summary {
  count: number;
  mean: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export type BenchLoad =
  { mode: 'closed'; concurrency: number } | { mode: 'open'; rate: number; maxInFlight: number; seed: number };

export interface OpenLoopFigures {
  /** The rate asked for (req/s). */
  offeredRate: number;
  /** The rate of the seeded Poisson schedule itself: its arrivals over the time of its last one. */
  scheduledRate: number;
  /** The rate requests were actually sent at: sent over the time of the last send. */
  achievedRate: number;
  /** How late each request left against its scheduled arrival. */
  sendLagMs: Summary | undefined;
  /** Arrivals that found `maxInFlight` requests in flight and waited for one to end. */
  maxInFlightHits: number;
  /** The longest such wait. */
  maxInFlightWaitMs: number;
}

export interface BenchErrorCount {
  message: string;
  count: number;
}

export interface BenchReport {
  /** The URL every request was sent to. */
  endpoint: string;
  serviceId: string | undefined;
  model: string | undefined;
  api: BenchApi;
  load: BenchLoad;
  workload: {
    promptTokens: number | undefined;
    dataset: { path: string; entries: number } | undefined;
    outputTokens: number;
    vllmExtensions: boolean;
  };
  stopAfter: { requests: number | undefined; durationMs: number | undefined };
  startedAt: string;
  /** Measured phase: first send → last answer. */
  elapsedMs: number;
  /** The run was stopped by its signal before it was done. */
  interrupted: boolean;
  warmup: { requests: number; failed: number };
  requests: { sent: number; succeeded: number; failed: number; aborted: number };
  ttftMs: Summary | undefined;
  itlMs: Summary | undefined;
  e2eMs: Summary | undefined;
  outputTokens: {
    total: number;
    perRequest: Summary | undefined;
    /** Successful requests whose output length differs from `outputTokens` (none when `ignore_eos` is honoured). */
    notAsRequested: number;
  };
  throughput: { requestsPerSecond: number; outputTokensPerSecond: number };
  /** `per-chunk usage`: each chunk's gap divided by the tokens its usage grew by; `chunk gaps`: one token per chunk. */
  itlMethod: 'per-chunk usage' | 'chunk gaps' | 'mixed' | 'none';
  openLoop: OpenLoopFigures | undefined;
  errors: { count: number; distinct: BenchErrorCount[] };
}

export interface BenchProgress {
  phase: 'warmup' | 'measure';
  sent: number;
  succeeded: number;
  failed: number;
  inFlight: number;
  elapsedMs: number;
}

export interface RunBenchControls {
  /** Aborting it stops sending, aborts what is in flight, and resolves with the report so far. */
  signal?: AbortSignal;
  /** Called after each request ends. */
  onProgress?: (progress: BenchProgress) => void;
}
