import parsePrometheusTextFormat from 'parse-prometheus-text-format';

/** The vLLM families the charts read: names as recipes/releases/vllm-openai-v0.11.0.json pins them. */
export const VLLM_METRICS = {
  running: 'vllm:num_requests_running',
  finished: 'vllm:request_success_total',
  generated: 'vllm:generation_tokens_total',
  kvCache: 'vllm:kv_cache_usage_perc',
} as const;

/** One scrape of a service (all its replicas), reduced to what the charts show. */
export interface Reading {
  /** Seconds since the epoch, when the scrape was answered. */
  at: number;
  running: number;
  /** Counters, summed over replicas and finish reasons. */
  finished: number;
  generated: number;
  /** 0..1, the mean over replicas; undefined when no replica reports it. */
  kvCache: number | undefined;
}

/** A chart point: gauges as read, counters as per-second rates since the previous reading. */
export interface Point {
  at: number;
  running: number;
  finishedPerSecond: number | null;
  tokensPerSecond: number | null;
  kvCachePercent: number | null;
}

function values(families: parsePrometheusTextFormat.ParsedFamily[], name: string): number[] {
  return families
    .filter((family) => family.name === name)
    .flatMap((family) => family.metrics.map((sample) => Number(sample.value)))
    .filter((value) => Number.isFinite(value));
}

const sum = (list: number[]): number => list.reduce((total, value) => total + value, 0);

/**
 * Prometheus text → a reading. Throws, saying what is missing, when the text has none of the vLLM
 * families (not a vLLM workload, or not Prometheus text at all), and with the parser's words when a
 * line is malformed.
 */
export function readExposition(text: string, at: number): Reading {
  // The parser loses the last family unless the text ends with a newline.
  const families = parsePrometheusTextFormat(text.endsWith('\n') ? text : `${text}\n`);
  const wanted: string[] = Object.values(VLLM_METRICS);
  if (!families.some((family) => wanted.includes(family.name))) {
    throw new Error(`the metrics have none of ${wanted.join(', ')}: is this a vLLM service?`);
  }
  const kvCache = values(families, VLLM_METRICS.kvCache);
  return {
    at,
    running: sum(values(families, VLLM_METRICS.running)),
    finished: sum(values(families, VLLM_METRICS.finished)),
    generated: sum(values(families, VLLM_METRICS.generated)),
    kvCache: kvCache.length === 0 ? undefined : sum(kvCache) / kvCache.length,
  };
}

/** A counter's increase per second; a counter that went down was reset (a restart), as Prometheus reads it. */
function rate(previous: number, current: number, seconds: number): number {
  const increase = current >= previous ? current - previous : current;
  return increase / seconds;
}

export function toPoint(previous: Reading | undefined, current: Reading): Point {
  const seconds = previous === undefined ? 0 : current.at - previous.at;
  const usable = previous !== undefined && seconds > 0;
  return {
    at: current.at,
    running: current.running,
    finishedPerSecond: usable ? rate(previous.finished, current.finished, seconds) : null,
    tokensPerSecond: usable ? rate(previous.generated, current.generated, seconds) : null,
    kvCachePercent: current.kvCache === undefined ? null : current.kvCache * 100,
  };
}
