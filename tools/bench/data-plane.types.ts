/** What the data-plane bench measured, as written to its JSON and rendered as markdown. */

export type RouteFamily = 'workload' | 'prompt' | 'openai';

/** A target that was probed and answered 404/400 (or otherwise could not be measured): not a failure. */
export interface NotServed {
  /** Which measurement: c=1, throughput, first chunk, gaps, concurrent streams. */
  section: string;
  key: string;
  label: string;
  reason: string;
}

export interface LatencyRow {
  key: string;
  label: string;
  family: RouteFamily;
  /** Per round. */
  p50_ms: number[];
  /** Medians over the rounds. */
  median_p50_ms: number;
  median_p95_ms: number;
  median_p99_ms: number;
  max_ms: number;
  n: number;
  /** Median p50 minus the job's front's median p50. */
  added_p50_vs_front_ms: number | null;
}

export interface ThroughputRow {
  key: string;
  label: string;
  connections: number;
  /** Per round. */
  requests_per_s: number[];
  median_requests_per_s: number;
  /** Of the job's front at the same concurrency, same round, median over rounds. */
  percent_of_front: number | null;
  median_p50_ms: number;
  median_p99_ms: number;
  non_2xx: number;
  socket_errors: number;
  requests: number;
  /** CPU ms per good answer of each measured process, median over rounds. */
  cpu_ms_per_request: Record<string, number>;
  /** gateway (of this row's transport) + proxy; then + orchestrator. Null where no gateway is on the path. */
  control_plane_cpu_ms: { gateway_proxy: number; gateway_orchestrator_proxy: number } | null;
}

export interface FirstChunkRow {
  key: string;
  label: string;
  p50_ms: number[];
  median_p50_ms: number;
  median_p95_ms: number;
  n: number;
  added_p50_vs_front_ms: number | null;
  median_complete_p50_ms: number;
}

export interface GapRow {
  key: string;
  label: string;
  n_streams: number;
  tokens_per_stream: number[];
  median_gap_p50_ms: number;
  median_gap_p99_ms: number;
  median_gap_max_ms: number;
  /** Against the workload's own gaps (its Unix socket, same round). */
  gap_p50_diff_ms: number | null;
  gap_p99_diff_ms: number | null;
}

export interface ConcurrentRound {
  path: string;
  streams: number;
  max_tokens: number;
  /** Token chunks one stream straight from the simulator carried. */
  expected_per_stream: number;
  expected_total: number;
  received_total: number;
  lost: number;
  /** Streams that did not end with `data: [DONE]`, or ended with an error event, or not 200. */
  incomplete_streams: number;
  error_events: number;
  gap_p50_ms: number;
  gap_p99_ms: number;
  gap_max_ms: number;
  stream_p50_ms: number;
  stream_max_ms: number;
  /** max_tokens x the per-token latency: how long one stream takes at best. */
  ideal_stream_ms: number;
  wall_ms: number;
}

export type TargetStatus = 'met' | 'not met' | 'not served';

export interface TargetRow {
  target: string;
  limit: string;
  observed: string;
  status: TargetStatus;
}

export interface MemoryRow {
  process: string;
  pid: number | null;
  idle_rss: number | null;
  after_rss: number | null;
  peak_rss: number | null;
}

export interface DataPlaneResult {
  bench: 'data-plane';
  started_at: string;
  finished_at: string;
  machine: {
    cpus: number;
    cpu_model: string;
    memory_gib: number;
    os: string;
    kernel: string;
    node: string;
    load_average_before: number[];
    load_average_after: number[];
  };
  settings: Record<string, unknown> & { rounds: number; n: number; max_tokens: number };
  notes: string[];
  not_served: NotServed[];
  latency: LatencyRow[];
  throughput: ThroughputRow[];
  first_chunk: FirstChunkRow[];
  gaps: GapRow[];
  /** One per round. */
  concurrent: ConcurrentRound[];
  targets: TargetRow[];
  memory_mib: MemoryRow[];
}
