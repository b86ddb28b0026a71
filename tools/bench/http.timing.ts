import * as http from 'node:http';
import { performance } from 'node:perf_hooks';
import { SseSplitter, type SseEvent } from './sse.parser';

export class BenchHttpError extends Error {
  readonly code = 'BENCH_HTTP';
}

/** Where requests go: a TCP host:port or a Unix socket, each with its own keep-alive pool. */
export interface Target {
  label: string;
  options: { host: string; port: number } | { socketPath: string };
  agent: http.Agent;
}

export interface Exchange {
  status: number;
  contentType: string;
  body: string;
  /** From just before the request is written until the last body byte. */
  ms: number;
  /** Until the first body byte: for SSE the first event, the response headers having come before it. */
  firstChunkMs: number;
}

// One connection reused for every request, as a client with keep-alive would: the numbers are
// then the per-request cost of each hop, not TCP/Unix connection set-up.
const agentOptions: http.AgentOptions = { keepAlive: true, maxSockets: 1 };

/** `sockets` above 1 only for concurrent streams; sequential measurements keep one connection. */
export function tcpTarget(label: string, baseUrl: string, sockets = 1): Target {
  const url = new URL(baseUrl);
  return {
    label,
    options: { host: url.hostname, port: Number(url.port) },
    agent: new http.Agent({ ...agentOptions, maxSockets: sockets }),
  };
}

export function unixTarget(label: string, socketPath: string): Target {
  return { label, options: { socketPath }, agent: new http.Agent(agentOptions) };
}

export function exchange(
  target: Target,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<Exchange> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const requestHeaders: Record<string, string> = { accept: '*/*', ...headers };
  if (payload) {
    requestHeaders['content-type'] = 'application/json';
    requestHeaders['content-length'] = String(payload.length);
  }
  return new Promise<Exchange>((resolve, reject) => {
    const started = performance.now();
    let firstChunkMs: number | undefined;
    const req = http.request(
      { ...target.options, method, path, headers: requestHeaders, agent: target.agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          if (firstChunkMs === undefined && chunk.length > 0) firstChunkMs = performance.now() - started;
          chunks.push(chunk);
        });
        res.on('end', () => {
          const ms = performance.now() - started;
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            contentType: res.headers['content-type'] ?? '',
            body: Buffer.concat(chunks).toString('utf8'),
            ms,
            firstChunkMs: firstChunkMs ?? ms,
          });
        });
        res.on('error', (error) => {
          clearTimeout(timer);
          reject(new BenchHttpError(`${target.label} ${method} ${path}: ${error.message}`));
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(new BenchHttpError(`${target.label} ${method} ${path}: ${error.message}`));
    });
    req.end(payload);
  });
}

export interface StreamExchange extends Exchange {
  /** Every complete SSE event, timed (ms from the request) when its last byte arrived. */
  events: SseEvent[];
  /** Bytes after the last complete event: a stream cut short leaves something here. */
  rest: string;
}

/** A request whose answer is read as server-sent events, each timed as it completes. */
export function streamExchange(
  target: Target,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
  timeoutMs = 120_000,
): Promise<StreamExchange> {
  const payload = Buffer.from(JSON.stringify(body));
  const requestHeaders: Record<string, string> = {
    accept: 'text/event-stream',
    ...headers,
    'content-type': 'application/json',
    'content-length': String(payload.length),
  };
  return new Promise<StreamExchange>((resolve, reject) => {
    const started = performance.now();
    let firstChunkMs: number | undefined;
    const splitter = new SseSplitter();
    const events: SseEvent[] = [];
    const texts: string[] = [];
    const req = http.request(
      { ...target.options, method: 'POST', path, headers: requestHeaders, agent: target.agent },
      (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const at = performance.now() - started;
          if (firstChunkMs === undefined && chunk.length > 0) firstChunkMs = at;
          texts.push(chunk);
          events.push(...splitter.push(chunk, at));
        });
        res.on('end', () => {
          const ms = performance.now() - started;
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            contentType: res.headers['content-type'] ?? '',
            body: texts.join(''),
            ms,
            firstChunkMs: firstChunkMs ?? ms,
            events,
            rest: splitter.rest(),
          });
        });
        res.on('error', (error) => {
          clearTimeout(timer);
          reject(new BenchHttpError(`${target.label} POST ${path}: ${error.message}`));
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(new BenchHttpError(`${target.label} POST ${path}: ${error.message}`));
    });
    req.end(payload);
  });
}

/** The body parsed as JSON when it is JSON, else the text: the caller checks what it got. */
export async function exchangeJson(
  target: Target,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown }> {
  const answer = await exchange(target, method, path, body, headers);
  let parsed: unknown = answer.body;
  try {
    parsed = JSON.parse(answer.body) as unknown;
  } catch {
    // Left as text: the caller reports the status and what came back.
  }
  return { status: answer.status, body: parsed };
}

/** Polls `probe` until it answers true, or throws after `timeoutMs`. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new BenchHttpError(`${what} not ready within ${timeoutMs} ms${last ? ` (last error: ${last})` : ''}`);
}
