import { evaluateTargets } from './data-plane.rules';
import type { DataPlaneResult, LatencyRow, ThroughputRow } from './data-plane.types';

const latencyRow = (key: string, p50: number, added: number | null): LatencyRow => ({
  key,
  label: key,
  family: 'prompt',
  p50_ms: [p50],
  median_p50_ms: p50,
  median_p95_ms: p50,
  median_p99_ms: p50,
  max_ms: p50,
  n: 1,
  added_p50_vs_front_ms: added,
});

const throughputRow = (key: string, percent: number | null, gatewayProxy: number): ThroughputRow => ({
  key,
  label: key,
  connections: 16,
  requests_per_s: [1],
  median_requests_per_s: 1,
  percent_of_front: percent,
  median_p50_ms: 1,
  median_p99_ms: 1,
  non_2xx: 0,
  socket_errors: 0,
  requests: 1,
  cpu_ms_per_request: {},
  control_plane_cpu_ms: { gateway_proxy: gatewayProxy, gateway_orchestrator_proxy: gatewayProxy + 1 },
});

function result(partial: Partial<DataPlaneResult>): DataPlaneResult {
  return {
    bench: 'data-plane',
    started_at: '',
    finished_at: '',
    machine: {
      cpus: 2,
      cpu_model: '',
      memory_gib: 1,
      os: '',
      kernel: '',
      node: '',
      load_average_before: [],
      load_average_after: [],
    },
    settings: {
      rounds: 1,
      n: 1,
      max_tokens: 8,
      concurrent_streams: 64,
      concurrent_tokens: 256,
      token_latency_ms: 10,
    },
    notes: [],
    not_served: [],
    latency: [],
    throughput: [],
    first_chunk: [],
    gaps: [],
    concurrent: [],
    targets: [],
    memory_mib: [],
    ...partial,
  };
}

const statusOf = (rows: ReturnType<typeof evaluateTargets>, start: string): string | undefined =>
  rows.find((row) => row.target.startsWith(start))?.status;

describe('data-plane targets', () => {
  it('holds each figure to its limit', () => {
    const rows = evaluateTargets(
      result({
        latency: [
          latencyRow('direct', 1, -0.2),
          latencyRow('front', 1.2, null),
          latencyRow('gateway-http:prompt', 2.1, 0.9),
          latencyRow('gateway-ssh:prompt', 3, 1.8),
        ],
        throughput: [throughputRow('gateway-http:prompt@c16', 39.9, 0.5)],
      }),
    );
    expect(statusOf(rows, "added p50 at c=1, gateway (HTTP) over the job's front, prompt")).toBe('met');
    expect(statusOf(rows, "added p50 at c=1, gateway (SSH) over the job's front, prompt")).toBe('not met');
    expect(statusOf(rows, "CPU per prompt at c=16, gateway + proxy (the gateway's path), prompt")).toBe(
      'met',
    );
    expect(statusOf(rows, "throughput at c=16, gateway (HTTP) as % of the job's front, prompt")).toBe(
      'not met',
    );
    expect(statusOf(rows, "the job's front adds at c=1")).toBe('met');
  });

  it('says "not served" for what the run could not measure instead of failing it', () => {
    const rows = evaluateTargets(result({}));
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.every((row) => row.status === 'not served' && row.observed === '–')).toBe(true);
  });

  it('counts a lost chunk or an unfinished stream against the concurrent streams', () => {
    const round = {
      path: 'gateway',
      streams: 64,
      max_tokens: 256,
      expected_per_stream: 256,
      expected_total: 16384,
      received_total: 16384,
      lost: 0,
      incomplete_streams: 0,
      error_events: 0,
      gap_p50_ms: 10.4,
      gap_p99_ms: 14,
      gap_max_ms: 20,
      stream_p50_ms: 2700,
      stream_max_ms: 2800,
      ideal_stream_ms: 2550,
      wall_ms: 2900,
    };
    expect(statusOf(evaluateTargets(result({ concurrent: [round] })), '64 concurrent')).toBe('met');
    expect(statusOf(evaluateTargets(result({ concurrent: [round] })), 'the same streams')).toBe('met');
    const lossy = evaluateTargets(result({ concurrent: [round, { ...round, lost: 3 }] }));
    expect(statusOf(lossy, '64 concurrent')).toBe('not met');
  });
});
