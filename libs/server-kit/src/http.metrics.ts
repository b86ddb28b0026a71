import type * as http from 'node:http';
import { performance } from 'node:perf_hooks';
import { OVERHEAD_HEADER, routeTemplate, type Hop } from '@aiplane/contracts';
import type { HttpMetrics } from '@aiplane/metrics';

type RequestListener = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/**
 * The status counted for a request whose client went away before any answer was sent: nginx's
 * "client closed request", so that aborted requests are neither lost nor counted as answered.
 */
export const CLIENT_CLOSED_STATUS = 499;

export interface HttpInstrumentOptions {
  hop: Hop;
  metrics: HttpMetrics;
  /** Whether a request is data plane: its `x-aiplane-overhead-ms` is also observed. */
  dataPlane: (method: string, url: string) => boolean;
}

/**
 * Counts and times every request of `server` at its `request` event, in front of whatever is
 * installed there (a RequestGate, a pass-through, Nest), so that Nest's routes and the data plane,
 * which never reaches Nest, are measured alike. Install it last: it must be the outermost listener.
 * The route is the table's template (bounded), worked out after the answer, off its path.
 */
export function instrumentHttpServer(server: http.Server, options: HttpInstrumentOptions): void {
  const inner = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  const { hop, metrics, dataPlane } = options;
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const overhead = dataPlane(method, url) ? captureOverhead(res) : undefined;
    res.once('close', () => {
      const status = res.headersSent ? res.statusCode : CLIENT_CLOSED_STATUS;
      metrics.observe(
        routeTemplate(hop, method, url),
        method,
        status,
        (performance.now() - started) / 1000,
        overhead?.(),
      );
    });
    for (const listener of inner) listener.call(server, req, res);
  });
}

/**
 * The overhead header of an answer, however its headers were sent: set on the response (Nest's
 * answers) or handed to writeHead at once (the pass-through's), which keeps no copy of them.
 */
function captureOverhead(res: http.ServerResponse): () => number | undefined {
  let written: unknown;
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => http.ServerResponse;
  res.writeHead = (...args: unknown[]) => {
    const headers = args.find(
      (arg, index): arg is object => index > 0 && typeof arg === 'object' && arg !== null,
    );
    if (headers !== undefined) written = headerIn(headers, OVERHEAD_HEADER);
    return writeHead(...args);
  };
  return () => {
    const value = res.getHeader(OVERHEAD_HEADER) ?? written;
    const ms = typeof value === 'string' || typeof value === 'number' ? Number(value) : Number.NaN;
    return Number.isFinite(ms) ? ms : undefined;
  };
}

/** A header in writeHead's object (`{name: value}`) or raw array (`[name, value, ...]`) form. */
function headerIn(headers: object, name: string): unknown {
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() === name) return headers[i + 1] as unknown;
    }
    return undefined;
  }
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value as unknown;
  return undefined;
}
