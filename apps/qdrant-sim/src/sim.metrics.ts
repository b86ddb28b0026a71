import { Counter, Gauge, Histogram, Registry } from 'prom-client';

// Qdrant's OperationDurationsAggregator boundaries (1µs … 50s), so dashboards built on real servers read alike.
export const REST_DURATION_BUCKETS = [
  0.000001, 0.000005, 0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 50,
];

/**
 * Qdrant reports REST traffic only for these route patterns (points operations), to bound the number of series;
 * requests to other routes (collection management, health, metrics) are not counted.
 */
export const METERED_ENDPOINTS: ReadonlySet<string> = new Set([
  '/collections/{name}/index',
  '/collections/{name}/points',
  '/collections/{name}/points/batch',
  '/collections/{name}/points/count',
  '/collections/{name}/points/delete',
  '/collections/{name}/points/payload',
  '/collections/{name}/points/query',
  '/collections/{name}/points/recommend',
  '/collections/{name}/points/scroll',
  '/collections/{name}/points/search',
  '/collections/{name}/points/search/batch',
  '/collections/{name}/points/vectors',
]);

// Qdrant reports timings only for this response status.
const TIMED_STATUS = 200;

export interface StoreStats {
  collections: number;
  vectors: number;
}

type RestLabel = 'method' | 'endpoint' | 'status';

interface Timing {
  count: number;
  sum: number;
  min: number;
  max: number;
}

/** Qdrant's Prometheus metrics, in a registry of their own so nothing else leaks into /metrics. */
export class SimMetrics {
  readonly registry = new Registry();
  private readonly collectionsTotal: Gauge;
  private readonly vectorsTotal: Gauge;
  private readonly responses: Counter<RestLabel>;
  private readonly failures: Counter<RestLabel>;
  private readonly avg: Gauge<RestLabel>;
  private readonly min: Gauge<RestLabel>;
  private readonly max: Gauge<RestLabel>;
  private readonly durations: Histogram<RestLabel>;
  private readonly timings = new Map<string, Timing>();

  constructor(
    version: string,
    private readonly stats: () => StoreStats,
  ) {
    const registers = [this.registry];
    const labelNames = ['method', 'endpoint', 'status'] as const;
    new Gauge({
      name: 'app_info',
      help: 'information about qdrant server',
      labelNames: ['name', 'version'],
      registers,
    }).set({ name: 'qdrant', version }, 1);
    new Gauge({
      name: 'app_status_recovery_mode',
      help: 'features enabled in qdrant server',
      registers,
    }).set(0);
    this.collectionsTotal = new Gauge({
      name: 'collections_total',
      help: 'number of collections',
      registers,
    });
    this.vectorsTotal = new Gauge({
      name: 'collections_vector_total',
      help: 'total number of vectors in all collections',
      registers,
    });
    new Gauge({ name: 'cluster_enabled', help: 'is cluster support enabled', registers }).set(0);
    this.responses = new Counter({
      name: 'rest_responses_total',
      help: 'total number of responses',
      labelNames,
      registers,
    });
    this.failures = new Counter({
      name: 'rest_responses_fail_total',
      help: 'total number of failed responses',
      labelNames,
      registers,
    });
    this.avg = new Gauge({
      name: 'rest_responses_avg_duration_seconds',
      help: 'average response duration',
      labelNames,
      registers,
    });
    this.min = new Gauge({
      name: 'rest_responses_min_duration_seconds',
      help: 'minimum response duration',
      labelNames,
      registers,
    });
    this.max = new Gauge({
      name: 'rest_responses_max_duration_seconds',
      help: 'maximum response duration',
      labelNames,
      registers,
    });
    this.durations = new Histogram({
      name: 'rest_responses_duration_seconds',
      help: 'response duration histogram',
      labelNames,
      buckets: REST_DURATION_BUCKETS,
      registers,
    });
  }

  /** One REST response; `endpoint` is the route pattern, e.g. `/collections/{name}/points/search`. */
  restResponse(method: string, endpoint: string, status: number, seconds: number): void {
    if (!METERED_ENDPOINTS.has(endpoint)) return;
    const labels = { method, endpoint, status: String(status) };
    this.responses.inc(labels);
    // Qdrant counts every response as an operation that completed, so its fail counter stays at zero.
    this.failures.inc(labels, 0);
    if (status !== TIMED_STATUS) return;
    const key = `${method} ${endpoint}`;
    const timing = this.timings.get(key) ?? { count: 0, sum: 0, min: Infinity, max: 0 };
    timing.count++;
    timing.sum += seconds;
    timing.min = Math.min(timing.min, seconds);
    timing.max = Math.max(timing.max, seconds);
    this.timings.set(key, timing);
    this.avg.set(labels, timing.sum / timing.count);
    this.min.set(labels, timing.min);
    this.max.set(labels, timing.max);
    this.durations.observe(labels, seconds);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    const { collections, vectors } = this.stats();
    this.collectionsTotal.set(collections);
    this.vectorsTotal.set(vectors);
    return this.registry.metrics();
  }
}
