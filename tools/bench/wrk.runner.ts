import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';

export class WrkError extends Error {
  readonly code = 'BENCH_WRK_FAILED';
}

/** One wrk run: a fixed request repeated by `connections` keep-alive connections for `seconds`. */
export interface WrkSpec {
  url: string;
  method: string;
  body?: unknown;
  headers: Record<string, string>;
  connections: number;
  seconds: number;
}

export interface WrkReport {
  requests: number;
  durationS: number;
  /** Answers with a status outside 2xx/3xx, which wrk still counts in `requests`. */
  non2xx: number;
  socketErrors: number;
  requestsPerS: number;
  p50Ms: number;
  p99Ms: number;
}

const MARK = 'BENCH_WRK_RESULT ';

/** A Lua long string that the text cannot close early. */
function luaString(text: string): string {
  let level = '=';
  while (text.includes(`]${level}]`)) level += '=';
  return `[${level}[${text}]${level}]`;
}

/** The Lua script: wrk sends the body and headers given, and prints its own summary as JSON. */
export function renderWrkScript(spec: Pick<WrkSpec, 'method' | 'body' | 'headers'>): string {
  const lines = [`wrk.method = ${luaString(spec.method)}`];
  if (spec.body !== undefined) {
    lines.push(`wrk.body = ${luaString(JSON.stringify(spec.body))}`);
    lines.push(`wrk.headers["Content-Type"] = "application/json"`);
  }
  for (const [name, value] of Object.entries(spec.headers))
    // Spaces inside the brackets: `[[` would open a long string.
    lines.push(`wrk.headers[ ${luaString(name)} ] = ${luaString(value)}`);
  lines.push(
    'function done(summary, latency, requests)',
    '  local e = summary.errors',
    `  io.write(string.format('${MARK}{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,` +
      `"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\\n',`,
    '    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,',
    '    latency:percentile(50), latency:percentile(99)))',
    'end',
    '',
  );
  return lines.join('\n');
}

const reportSchema = (value: unknown): value is Record<string, number> =>
  typeof value === 'object' &&
  value !== null &&
  ['requests', 'duration_us', 'connect', 'read', 'write', 'status', 'timeout', 'p50_us', 'p99_us'].every(
    (name) => typeof (value as Record<string, unknown>)[name] === 'number',
  );

/** The summary line the script's `done` printed; undefined when wrk did not get that far. */
export function parseWrkReport(stdout: string): WrkReport | undefined {
  const line = stdout.split('\n').find((entry) => entry.startsWith(MARK));
  if (line === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line.slice(MARK.length)) as unknown;
  } catch {
    return undefined;
  }
  if (!reportSchema(parsed)) return undefined;
  const n = (name: string): number => parsed[name] ?? 0;
  const durationS = n('duration_us') / 1e6;
  // wrk counts a non-2xx answer as a request served; the rate here is of good answers only.
  const good = n('requests') - n('status');
  return {
    requests: n('requests'),
    durationS,
    non2xx: n('status'),
    socketErrors: n('connect') + n('read') + n('write') + n('timeout'),
    requestsPerS: durationS > 0 ? good / durationS : 0,
    p50Ms: n('p50_us') / 1000,
    p99Ms: n('p99_us') / 1000,
  };
}

/** Runs wrk with a script written into `dir`; one thread, so it takes one of the cores, no more. */
export function runWrk(spec: WrkSpec, dir: string, name: string): Promise<WrkReport> {
  const script = path.join(dir, `${name.replace(/[^a-z0-9-]/gi, '_')}.lua`);
  writeFileSync(script, renderWrkScript(spec), { mode: 0o600 });
  const args = [
    '-t1',
    `-c${spec.connections}`,
    `-d${spec.seconds}s`,
    '--timeout',
    '10s',
    '-s',
    script,
    spec.url,
  ];
  return new Promise((resolve, reject) => {
    execFile('wrk', args, { timeout: (spec.seconds + 30) * 1000 }, (error, stdout, stderr) => {
      const report = parseWrkReport(stdout);
      if (report) resolve(report);
      else
        reject(
          new WrkError(
            `wrk ${spec.url}: ${error ? error.message : 'no summary'}\n${stdout}${stderr}`.trimEnd(),
          ),
        );
    });
  });
}
