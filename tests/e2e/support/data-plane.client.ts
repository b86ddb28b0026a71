/*
 * What the data-plane suites need beside withStack(): a raw HTTP client that records when each piece
 * of an answer arrived (fetch would hide the reads), the simulator's Prometheus counters, the pid of
 * a job's simulator process, and the Python venv holding the official `openai` package.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import * as path from 'node:path';
import { listenerPid, ROOT, type Api } from '@aiplane/testing';

export interface TimedRead {
  /** Milliseconds since the request was sent. */
  at: number;
  text: string;
}

export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  reads: TimedRead[];
  text: string;
  /** Whether the server ended the answer (false: the client cut it, or the connection broke). */
  complete: boolean;
  /** Set when the connection broke under an answer the client did not cut. */
  error?: string;
}

export interface RawRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Disconnect (destroy the socket) once this many reads arrived. */
  disconnectAfterReads?: number;
  /** Called on every read, with everything read so far: a test can act mid-answer. */
  onRead?: (reads: readonly TimedRead[]) => void;
  timeoutMs?: number;
}

/**
 * One request on a fresh connection (no agent, so a disconnect reaches the server at once); never
 * rejects on an HTTP status or a broken connection, only when nothing answered at all.
 */
export function rawRequest(url: string, options: RawRequest = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const reads: TimedRead[] = [];
    const req = httpRequest(url, {
      method: options.method ?? 'GET',
      headers: options.headers ?? {},
      agent: false,
      timeout: options.timeoutMs ?? 60_000,
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within the timeout`)));
    req.on('error', reject);
    req.on('response', (res) => {
      res.setEncoding('utf8');
      let cut = false;
      const finish = (complete: boolean, error?: string): void => {
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          reads,
          text: reads.map((read) => read.text).join(''),
          complete,
          ...(error === undefined ? {} : { error }),
        });
      };
      res.on('data', (chunk: string) => {
        if (cut) return;
        reads.push({ at: performance.now() - started, text: chunk });
        options.onRead?.(reads);
        if (options.disconnectAfterReads !== undefined && reads.length >= options.disconnectAfterReads) {
          cut = true;
          req.destroy();
          finish(false);
        }
      });
      res.on('end', () => {
        if (!cut) finish(true);
      });
      res.on('error', (error) => {
        if (!cut) finish(false, error.message);
      });
      res.on('close', () => {
        if (!cut && !res.complete) finish(false, 'connection closed before the end of the answer');
      });
    });
    req.end(options.body);
  });
}

/** The `data:` payloads of a text/event-stream, in order. */
export function sseData(text: string): string[] {
  return text
    .split(/\r?\n\r?\n/)
    .flatMap((event) =>
      event
        .split(/\r?\n/)
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice('data:'.length).trim()),
    )
    .filter((data) => data !== '');
}

/** The sum of every sample of `name` (all label sets) in a Prometheus text exposition; 0 when absent. */
export function metricSum(exposition: string, name: string): number {
  let sum = 0;
  for (const line of exposition.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([^\s{]+)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match?.[1] === name) sum += Number(match[3]);
  }
  return sum;
}

/** A vLLM service's own metrics, read through the gateway's metrics route. */
export async function vllmMetrics(api: Api, id: string): Promise<string> {
  const response = await api<string>('GET', `/api/v1/vllm/${id}/metrics`);
  if (response.status !== 200) throw new Error(`GET /api/v1/vllm/${id}/metrics answered ${response.status}`);
  return response.body;
}

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/**
 * The pid of a local vLLM job's simulator: the sibling of the front that listens on the endpoint's
 * port (recipes/runtime/behind-front.sh runs both under one shell), running vllm-sim's main.js.
 */
export function simulatorPid(endpoint: string): number {
  const jobShell = parentOf(listenerPid(Number(new URL(endpoint).port)));
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (parentOf(Number(entry)) !== jobShell) continue;
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.some((arg) => arg.endsWith(path.join('vllm-sim', 'src', 'main.js')))) return Number(entry);
    } catch {
      // The process ended while the table was read.
    }
  }
  throw new Error(`no vllm-sim process beside the front of ${endpoint} (job shell ${jobShell})`);
}

let venvPython: string | undefined;

/** The venv's python with the official `openai` package; tools/infra/python-venv.sh makes it once. */
export function pythonWithOpenAI(): string {
  if (venvPython === undefined) {
    const out = execFileSync('bash', [path.join(ROOT, 'tools', 'infra', 'python-venv.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
    });
    venvPython = out.trim().split('\n').pop() ?? '';
  }
  return venvPython;
}
