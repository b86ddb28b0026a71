import type { DataPlaneResult, TargetRow, TargetStatus } from './data-plane.types';
import { median, round } from './latency.stats';

/** The issue's "Targets": each figure a median over the rounds of a run. */
export const LIMITS = {
  addedP50HttpMs: 1.0,
  addedP50SshMs: 1.5,
  cpuPerPromptMs: 0.6,
  throughputPercentOfFront: 40,
  firstChunkAddedMs: 2,
  gapWithinMs: 2,
  frontAddedMs: 0.3,
  frontPercentOfDirectC64: 70,
} as const;

const fmt = (value: number | null | undefined, unit = ' ms'): string =>
  value === null || value === undefined || Number.isNaN(value) ? '–' : `${value.toFixed(2)}${unit}`;

function status(value: number | null | undefined, ok: (value: number) => boolean): TargetStatus {
  if (value === null || value === undefined || Number.isNaN(value)) return 'not served';
  return ok(value) ? 'met' : 'not met';
}

/** Every target against what this run measured; a row whose route was not served says so. */
export function evaluateTargets(result: DataPlaneResult): TargetRow[] {
  const rows: TargetRow[] = [];
  const latency = (key: string) => result.latency.find((row) => row.key === key);
  const throughput = (key: string) => result.throughput.find((row) => row.key === key);
  const families = [
    ['prompt', 'prompt route'],
    ['v1', '/v1/chat/completions'],
  ] as const;

  for (const [suffix, name] of families) {
    const http = latency(`gateway-http:${suffix}`)?.added_p50_vs_front_ms;
    rows.push({
      target: `added p50 at c=1, gateway (HTTP) over the job's front, ${name}`,
      limit: `≤ ${LIMITS.addedP50HttpMs.toFixed(1)} ms`,
      observed: fmt(http),
      status: status(http, (v) => v <= LIMITS.addedP50HttpMs),
    });
  }
  for (const [suffix, name] of families) {
    const ssh = latency(`gateway-ssh:${suffix}`)?.added_p50_vs_front_ms;
    rows.push({
      target: `added p50 at c=1, gateway (SSH) over the job's front, ${name}`,
      limit: `≤ ${LIMITS.addedP50SshMs.toFixed(1)} ms`,
      observed: fmt(ssh),
      status: status(ssh, (v) => v <= LIMITS.addedP50SshMs),
    });
  }
  for (const [suffix, name] of families) {
    const cpu = throughput(`gateway-http:${suffix}@c16`)?.control_plane_cpu_ms;
    rows.push({
      target: `CPU per prompt at c=16, gateway + proxy (the gateway's path), ${name}`,
      limit: `≤ ${LIMITS.cpuPerPromptMs} ms`,
      observed:
        cpu === undefined || cpu === null
          ? '–'
          : `${fmt(cpu.gateway_proxy)} (+ orchestrator: ${fmt(cpu.gateway_orchestrator_proxy)})`,
      status: status(cpu?.gateway_proxy, (v) => v <= LIMITS.cpuPerPromptMs),
    });
  }
  for (const [suffix, name] of families) {
    const row = throughput(`gateway-http:${suffix}@c16`);
    rows.push({
      target: `throughput at c=16, gateway (HTTP) as % of the job's front, ${name}`,
      limit: `≥ ${LIMITS.throughputPercentOfFront} %`,
      observed:
        row === undefined ? '–' : `${row.percent_of_front ?? '–'} % (${row.median_requests_per_s} req/s)`,
      status: status(row?.percent_of_front, (v) => v >= LIMITS.throughputPercentOfFront),
    });
  }
  for (const key of ['gateway-http:v1', 'gateway-http:prompt']) {
    const row = result.first_chunk.find((entry) => entry.key === key);
    rows.push({
      target: `added time to first chunk p50, ${key.endsWith('v1') ? '/v1 stream' : 'prompt route stream'} (gateway HTTP over the front)`,
      limit: `≤ ${LIMITS.firstChunkAddedMs} ms`,
      observed: fmt(row?.added_p50_vs_front_ms),
      status: status(row?.added_p50_vs_front_ms, (v) => v <= LIMITS.firstChunkAddedMs),
    });
  }
  const gap =
    result.gaps.find((entry) => entry.key === 'gateway-http:v1') ??
    result.gaps.find((entry) => entry.key === 'gateway-http:prompt');
  for (const [which, value] of [
    ['p50', gap?.gap_p50_diff_ms],
    ['p99', gap?.gap_p99_diff_ms],
  ] as const)
    rows.push({
      target: `gap between chunks ${which} at the client vs the workload's (gateway HTTP${gap ? `, ${gap.key}` : ''})`,
      limit: `within ${LIMITS.gapWithinMs} ms`,
      observed: fmt(value),
      status: status(value, (v) => Math.abs(v) <= LIMITS.gapWithinMs),
    });
  const concurrent = result.concurrent;
  const settings = result.settings as {
    concurrent_streams?: number;
    concurrent_tokens?: number;
    token_latency_ms?: number;
  };
  const lost =
    concurrent.length === 0
      ? undefined
      : concurrent.reduce((sum, c) => sum + c.lost + c.incomplete_streams, 0);
  rows.push({
    target: `${settings.concurrent_streams ?? '?'} concurrent streams × ${settings.concurrent_tokens ?? '?'} tokens through the gateway: no chunk lost`,
    limit: '0 lost, every stream ends with [DONE]',
    observed:
      concurrent.length === 0
        ? '–'
        : concurrent
            .map((c) => `${c.received_total}/${c.expected_total}, ${c.incomplete_streams} incomplete`)
            .join('; '),
    status: status(lost, (v) => v === 0),
  });
  const cadence = concurrent.length === 0 ? undefined : round(median(concurrent.map((c) => c.gap_p50_ms)));
  rows.push({
    target: 'the same streams stay on cadence: gap p50 vs the per-token latency',
    limit: `within ${LIMITS.gapWithinMs} ms of ${settings.token_latency_ms ?? '?'} ms`,
    observed:
      cadence === undefined
        ? '–'
        : `${fmt(cadence)} (p99 ${fmt(median(concurrent.map((c) => c.gap_p99_ms)))})`,
    status: status(
      cadence,
      (v) => Math.abs(v - (settings.token_latency_ms ?? Number.NaN)) <= LIMITS.gapWithinMs,
    ),
  });
  const frontAdded = latency('front');
  const direct = latency('direct');
  const frontOver = frontAdded && direct ? round(frontAdded.median_p50_ms - direct.median_p50_ms) : undefined;
  rows.push({
    target: "the job's front adds at c=1 over its simulator (Unix socket)",
    limit: `≤ ${LIMITS.frontAddedMs} ms`,
    observed: fmt(frontOver),
    status: status(frontOver, (v) => v <= LIMITS.frontAddedMs),
  });
  const frontC64 = throughput('front@c64');
  const directC64 = throughput('direct-tcp@c64');
  const percent =
    frontC64 && directC64 && directC64.median_requests_per_s > 0
      ? round((frontC64.median_requests_per_s / directC64.median_requests_per_s) * 100, 1)
      : undefined;
  rows.push({
    target: "the job's front at c=64 as % of the simulator direct (TCP)",
    limit: `≥ ${LIMITS.frontPercentOfDirectC64} %`,
    observed: percent === undefined ? '–' : `${percent} %`,
    status: status(percent, (v) => v >= LIMITS.frontPercentOfDirectC64),
  });
  return rows;
}
