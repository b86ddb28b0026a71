import type {
  BenchErrorCount,
  BenchOptions,
  BenchReport,
  OpenLoopFigures,
  RequestResult,
} from './bench.types';
import { summarize } from './latency.summary';

const DISTINCT_ERRORS = 5;

export interface MeasuredPhase {
  endpoint: string;
  datasetEntries: number | undefined;
  startedAt: Date;
  elapsedMs: number;
  interrupted: boolean;
  warmup: { requests: number; failed: number };
  results: readonly RequestResult[];
  openLoop: OpenLoopFigures | undefined;
}

/** The report of a measured phase: every latency figure over its successful requests only. */
export function buildReport(options: BenchOptions, phase: MeasuredPhase): BenchReport {
  const succeeded = phase.results.filter((result) => !result.aborted && result.error === undefined);
  const failed = phase.results.filter((result) => !result.aborted && result.error !== undefined);
  const seconds = phase.elapsedMs / 1_000;
  const totalTokens = succeeded.reduce((sum, result) => sum + result.outputTokens, 0);
  const withItl = succeeded.filter((result) => result.itlMs.length > 0);
  const perChunk = withItl.filter((result) => result.perChunkUsage).length;

  const distinct = new Map<string, number>();
  for (const result of failed) {
    const message = result.error ?? '';
    distinct.set(message, (distinct.get(message) ?? 0) + 1);
  }
  const errors: BenchErrorCount[] = [...distinct]
    .slice(0, DISTINCT_ERRORS)
    .map(([message, count]) => ({ message, count }));

  return {
    endpoint: phase.endpoint,
    serviceId: options.serviceId,
    model: options.model,
    api: options.api,
    load:
      options.rate === undefined
        ? { mode: 'closed', concurrency: options.concurrency ?? 1 }
        : { mode: 'open', rate: options.rate, maxInFlight: options.maxInFlight, seed: options.seed },
    workload: {
      promptTokens: options.promptTokens,
      dataset:
        options.dataset === undefined
          ? undefined
          : { path: options.dataset, entries: phase.datasetEntries ?? 0 },
      outputTokens: options.outputTokens,
      vllmExtensions: options.vllmExtensions,
    },
    stopAfter: { requests: options.requests, durationMs: options.durationMs },
    startedAt: phase.startedAt.toISOString(),
    elapsedMs: phase.elapsedMs,
    interrupted: phase.interrupted,
    warmup: phase.warmup,
    requests: {
      sent: phase.results.length,
      succeeded: succeeded.length,
      failed: failed.length,
      aborted: phase.results.length - succeeded.length - failed.length,
    },
    ttftMs: summarize(succeeded.flatMap((result) => (result.ttftMs === undefined ? [] : [result.ttftMs]))),
    itlMs: summarize(succeeded.flatMap((result) => result.itlMs)),
    e2eMs: summarize(succeeded.flatMap((result) => (result.e2eMs === undefined ? [] : [result.e2eMs]))),
    outputTokens: {
      total: totalTokens,
      perRequest: summarize(succeeded.map((result) => result.outputTokens)),
      notAsRequested: succeeded.filter((result) => result.outputTokens !== options.outputTokens).length,
    },
    throughput: {
      requestsPerSecond: seconds > 0 ? succeeded.length / seconds : 0,
      outputTokensPerSecond: seconds > 0 ? totalTokens / seconds : 0,
    },
    itlMethod:
      withItl.length === 0
        ? 'none'
        : perChunk === withItl.length
          ? 'per-chunk usage'
          : perChunk === 0
            ? 'chunk gaps'
            : 'mixed',
    openLoop: phase.openLoop,
    errors: { count: failed.length, distinct: errors },
  };
}
