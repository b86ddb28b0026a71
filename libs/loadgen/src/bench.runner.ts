import { setTimeout as sleep } from 'node:timers/promises';
import { poissonArrivals } from './arrival.schedule';
import type {
  BenchOptions,
  BenchProgress,
  BenchPrompt,
  BenchReport,
  OpenLoopFigures,
  RequestResult,
  RunBenchControls,
} from './bench.types';
import { loadDataset } from './dataset.parser';
import { summarize } from './latency.summary';
import { streamCompletion } from './openai-stream.client';
import { syntheticPrompt } from './prompt.factory';
import { buildReport } from './report.builder';

/** The URL a run sends to: the service's own OpenAI routes, or the gateway's, which route by model. */
export function benchEndpoint(options: Pick<BenchOptions, 'url' | 'serviceId' | 'api'>): string {
  const route = options.api === 'chat' ? 'chat/completions' : 'completions';
  return options.serviceId === undefined
    ? `${options.url}/v1/${route}`
    : `${options.url}/api/v1/vllm/${encodeURIComponent(options.serviceId)}/v1/${route}`;
}

/** The request body of the `index`-th request of a run. */
export function requestBody(options: BenchOptions, prompt: BenchPrompt): Record<string, unknown> {
  const body: Record<string, unknown> = {
    ...(options.model === undefined ? {} : { model: options.model }),
    max_tokens: options.outputTokens,
    stream: true,
    stream_options: options.vllmExtensions
      ? { include_usage: true, continuous_usage_stats: true }
      : { include_usage: true },
    ...(options.vllmExtensions ? { ignore_eos: true } : {}),
  };
  if (options.api === 'completions') {
    // parseDataset refuses conversations for this API, so a prompt here is always text.
    body.prompt = prompt.kind === 'text' ? prompt.text : prompt.messages.map((m) => m.content).join('\n');
  } else {
    body.messages = prompt.kind === 'text' ? [{ role: 'user', content: prompt.text }] : prompt.messages;
  }
  return body;
}

/**
 * Runs a load test: the warm-up requests (closed loop, left out of every figure), then the measured
 * phase as a closed loop (`concurrency` workers) or an open loop (Poisson arrivals at `rate`). A
 * dataset is read and checked before anything is sent (`BenchInputError`). Request failures never
 * reject: they are counted in the report. Aborting `signal` resolves with the report so far.
 */
export async function runBench(options: BenchOptions, controls: RunBenchControls = {}): Promise<BenchReport> {
  const { signal, onProgress } = controls;
  const dataset = options.dataset === undefined ? undefined : await loadDataset(options.dataset, options.api);
  const endpoint = benchEndpoint(options);
  let nextIndex = 0;
  const promptFor = (index: number): BenchPrompt =>
    dataset === undefined
      ? { kind: 'text', text: syntheticPrompt(options.promptTokens ?? 1, options.seed, index) }
      : (dataset[index % dataset.length] as BenchPrompt);
  const send = (): Promise<RequestResult> =>
    streamCompletion({
      endpoint,
      body: requestBody(options, promptFor(nextIndex++)),
      api: options.api,
      timeoutMs: options.requestTimeoutMs,
      signal,
    });

  const warmup = new Phase('warmup', onProgress);
  if (options.warmup > 0) {
    await closedLoop(options.concurrency ?? 1, () => warmup.sent < options.warmup, send, warmup, signal);
  }

  const measure = new Phase('measure', onProgress);
  const startedAt = new Date();
  let openLoop: OpenLoopFigures | undefined;
  if (options.rate === undefined) {
    const deadline = measure.start + (options.durationMs ?? Number.POSITIVE_INFINITY);
    const more = (): boolean =>
      options.requests === undefined ? performance.now() < deadline : measure.sent < options.requests;
    await closedLoop(options.concurrency ?? 1, more, send, measure, signal);
  } else {
    openLoop = await openLoopRun(options, options.rate, send, measure, signal);
  }

  return buildReport(options, {
    endpoint,
    datasetEntries: dataset?.length,
    startedAt,
    elapsedMs: (measure.lastEnd ?? performance.now()) - measure.start,
    interrupted: signal?.aborted === true,
    warmup: {
      requests: warmup.results.length,
      failed: warmup.results.filter((result) => result.error !== undefined).length,
    },
    results: measure.results,
    openLoop,
  });
}

/** The requests of one phase, and its progress as they end. */
class Phase {
  readonly start = performance.now();
  readonly results: RequestResult[] = [];
  sent = 0;
  inFlight = 0;
  lastEnd: number | undefined;
  // Counted as results arrive: re-counting every result at each end made a long run quadratic.
  private succeeded = 0;
  private failed = 0;

  constructor(
    private readonly name: BenchProgress['phase'],
    private readonly onProgress: RunBenchControls['onProgress'],
  ) {}

  async track(request: Promise<RequestResult>): Promise<void> {
    this.sent++;
    this.inFlight++;
    const result = await request;
    this.inFlight--;
    this.lastEnd = performance.now();
    this.results.push(result);
    if (result.error !== undefined) this.failed++;
    else if (!result.aborted) this.succeeded++;
    this.onProgress?.({
      phase: this.name,
      sent: this.sent,
      succeeded: this.succeeded,
      failed: this.failed,
      inFlight: this.inFlight,
      elapsedMs: this.lastEnd - this.start,
    });
  }
}

async function closedLoop(
  workers: number,
  more: () => boolean,
  send: () => Promise<RequestResult>,
  phase: Phase,
  signal: AbortSignal | undefined,
): Promise<void> {
  const worker = async (): Promise<void> => {
    while (signal?.aborted !== true && more()) await phase.track(send());
  };
  await Promise.all(Array.from({ length: workers }, worker));
}

async function openLoopRun(
  options: BenchOptions,
  rate: number,
  send: () => Promise<RequestResult>,
  phase: Phase,
  signal: AbortSignal | undefined,
): Promise<OpenLoopFigures> {
  const arrivals = poissonArrivals(rate, options.seed);
  const inFlight = new Set<Promise<void>>();
  const lags: number[] = [];
  let lastPlanned = 0;
  let lastSent = 0;
  let hits = 0;
  let longestWait = 0;
  try {
    while (options.requests === undefined || phase.sent < options.requests) {
      const planned = arrivals.next().value;
      if (options.durationMs !== undefined && planned >= options.durationMs) break;
      // Timers may fire up to a millisecond early; an arrival must never leave before its time.
      for (let wait = phase.start + planned - performance.now(); wait > 0;) {
        await sleep(Math.ceil(wait), undefined, signal === undefined ? {} : { signal });
        wait = phase.start + planned - performance.now();
      }
      signal?.throwIfAborted();
      if (inFlight.size >= options.maxInFlight) {
        // Waiting, not dropping: the arrival is late and the hit is reported, never lost.
        hits++;
        const waitStart = performance.now();
        while (inFlight.size >= options.maxInFlight) await Promise.race(inFlight);
        longestWait = Math.max(longestWait, performance.now() - waitStart);
        signal?.throwIfAborted();
      }
      const sentAt = performance.now() - phase.start;
      lags.push(Math.max(0, sentAt - planned));
      lastPlanned = planned;
      lastSent = sentAt;
      const tracked: Promise<void> = phase.track(send()).finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
    }
  } catch (error) {
    if (signal?.aborted !== true) throw error;
  }
  await Promise.all(inFlight);
  const sent = lags.length;
  return {
    offeredRate: rate,
    scheduledRate: lastPlanned > 0 ? sent / (lastPlanned / 1_000) : 0,
    achievedRate: lastSent > 0 ? sent / (lastSent / 1_000) : 0,
    sendLagMs: summarize(lags),
    maxInFlightHits: hits,
    maxInFlightWaitMs: longestWait,
  };
}
