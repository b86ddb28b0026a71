import type { DataPlaneResult } from './data-plane.types';
import { markdownTable } from './latency.stats';

const ms = (value: number | null | undefined): string =>
  value === null || value === undefined || Number.isNaN(value) ? '–' : value.toFixed(2);
const ms3 = (value: number | null | undefined): string =>
  value === null || value === undefined || Number.isNaN(value) ? '–' : value.toFixed(3);
const mib = (value: number | null): string => (value === null ? '–' : value.toFixed(1));

/** The run as markdown tables ready for tools/bench/README.md, targets beside the numbers. */
export function renderReport(result: DataPlaneResult, jsonPath: string): string {
  const s = result.settings as Record<string, unknown>;
  const rounds = result.settings.rounds;
  const perRound = rounds > 1 ? ` (median of ${rounds} rounds; per round in brackets)` : '';
  const list = (values: readonly number[]): string => (rounds > 1 ? ` [${values.map(ms).join(', ')}]` : '');
  const cpuNames = [...new Set(result.throughput.flatMap((row) => Object.keys(row.cpu_ms_per_request)))];
  const m = result.machine;
  const out = [
    `## data-plane bench, ${result.started_at}`,
    '',
    `${m.cpus} CPUs (${m.cpu_model}), ${m.memory_gib} GiB, ${m.os}, node ${m.node}; ` +
      `${rounds} round(s), n=${result.settings.n} per target and round, max_tokens=${result.settings.max_tokens}, ` +
      `wrk ${String(s.wrk_seconds)} s per run` +
      (typeof s.wrk_warmup_seconds === 'number' && s.wrk_warmup_seconds > 0
        ? ` after ${String(s.wrk_warmup_seconds)} s unmeasured`
        : '') +
      `${result.settings.quick === true ? ', --quick' : ''}; ` +
      `load average ${m.load_average_before.join(' ')} → ${m.load_average_after.join(' ')}`,
    '',
    '### Targets',
    '',
    markdownTable(
      ['target', 'limit', 'observed', 'status'],
      result.targets.map((row) => [row.target, row.limit, row.observed, row.status]),
    ),
    '',
    `### Latency at c=1 (ms)${perRound}`,
    '',
    markdownTable(
      ['target', 'p50', 'p95', 'p99', 'max', 'added p50 vs front'],
      result.latency.map((row) => [
        row.label,
        `${ms(row.median_p50_ms)}${list(row.p50_ms)}`,
        ms(row.median_p95_ms),
        ms(row.median_p99_ms),
        ms(row.max_ms),
        ms(row.added_p50_vs_front_ms),
      ]),
    ),
    '',
    '### Throughput (wrk) and CPU per request (ms of utime+stime per good answer)',
    '',
    markdownTable(
      [
        'target',
        'c',
        'req/s',
        '% of front',
        'p50',
        'p99',
        'non-2xx',
        ...cpuNames,
        'gateway+proxy',
        'gateway+orch+proxy',
      ],
      result.throughput.map((row) => [
        row.label,
        String(row.connections),
        `${row.median_requests_per_s.toFixed(0)}${rounds > 1 ? ` [${row.requests_per_s.join(', ')}]` : ''}`,
        row.percent_of_front === null ? '–' : `${row.percent_of_front.toFixed(1)} %`,
        ms(row.median_p50_ms),
        ms(row.median_p99_ms),
        String(row.non_2xx + row.socket_errors),
        ...cpuNames.map((name) => ms3(row.cpu_ms_per_request[name])),
        ms3(row.control_plane_cpu_ms?.gateway_proxy),
        ms3(row.control_plane_cpu_ms?.gateway_orchestrator_proxy),
      ]),
    ),
    '',
    `### Streaming: time to first chunk, max_tokens=${String(s.stream_max_tokens)} (ms)${perRound}`,
    '',
    markdownTable(
      ['path', 'first p50', 'first p95', 'added p50 vs front', 'complete p50'],
      result.first_chunk.map((row) => [
        row.label,
        `${ms(row.median_p50_ms)}${list(row.p50_ms)}`,
        ms(row.median_p95_ms),
        ms(row.added_p50_vs_front_ms),
        ms(row.median_complete_p50_ms),
      ]),
    ),
    '',
    `### Streaming: gaps between chunks, ${String(s.token_latency_ms)} ms per token, max_tokens=${String(s.gap_tokens)} (ms)`,
    '',
    markdownTable(
      [
        'path',
        'streams',
        'chunks per stream',
        'gap p50',
        'gap p99',
        'gap max',
        'p50 vs workload',
        'p99 vs workload',
      ],
      result.gaps.map((row) => [
        row.label,
        String(row.n_streams),
        row.tokens_per_stream.join(', '),
        ms(row.median_gap_p50_ms),
        ms(row.median_gap_p99_ms),
        ms(row.median_gap_max_ms),
        ms(row.gap_p50_diff_ms),
        ms(row.gap_p99_diff_ms),
      ]),
    ),
    '',
    `### Streaming: ${String(s.concurrent_streams)} concurrent streams × ${String(s.concurrent_tokens)} tokens through the gateway`,
    '',
    result.concurrent.length === 0
      ? 'not served'
      : markdownTable(
          [
            'round',
            'path',
            'chunks received / expected',
            'incomplete',
            'gap p50',
            'gap p99',
            'gap max',
            'stream p50',
            'stream max',
            'ideal',
          ],
          result.concurrent.map((row, index) => [
            String(index + 1),
            row.path,
            `${row.received_total} / ${row.expected_total}`,
            String(row.incomplete_streams),
            ms(row.gap_p50_ms),
            ms(row.gap_p99_ms),
            ms(row.gap_max_ms),
            ms(row.stream_p50_ms),
            ms(row.stream_max_ms),
            ms(row.ideal_stream_ms),
          ]),
        ),
    '',
    '### Not served by the code under test',
    '',
    result.not_served.length === 0
      ? 'none'
      : markdownTable(
          ['measurement', 'target', 'answer'],
          result.not_served.map((row) => [row.section, row.label, row.reason.replace(/\|/g, '\\|')]),
        ),
    '',
    '### Resident memory (MiB)',
    '',
    markdownTable(
      ['process', 'pid', 'idle RSS', 'RSS after', 'peak (VmHWM)'],
      result.memory_mib.map((row) => [
        row.process,
        String(row.pid ?? '–'),
        mib(row.idle_rss),
        mib(row.after_rss),
        mib(row.peak_rss),
      ]),
    ),
    '',
    ...result.notes.map((note) => `- ${note}`),
    '',
    `JSON: ${jsonPath}`,
    '',
  ];
  return out.join('\n');
}
