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
    const measured = dataPlane(method, url);
    res.once('close', () => {
      const status = res.headersSent ? res.statusCode : CLIENT_CLOSED_STATUS;
      metrics.observe(
        routeTemplate(hop, method, url),
        method,
        status,
        (performance.now() - started) / 1000,
        measured ? overheadOf(res) : undefined,
      );
    });
    for (const listener of inner) listener.call(server, req, res);
  });
}

// The overhead header of answers whose headers went out through writeHead's object, which keeps no
// copy. A side table, not a property or a wrapped writeHead on the response: changing the shape of
// every ServerResponse made Node's own HTTP code polymorphic and cost each hop ~30 µs of CPU per request.
const writtenOverheads = new WeakMap<http.ServerResponse, string>();

/**
 * Hands back `value`, the overhead header of `res`, having noted it for the metrics: call it where an
 * answer's headers are written as writeHead's object (Nest's answers set the header, which is read back).
 */
export function noteOverhead(res: http.ServerResponse, value: string): string {
  writtenOverheads.set(res, value);
  return value;
}

/** The overhead header an answer was sent with, however its headers were written. */
function overheadOf(res: http.ServerResponse): number | undefined {
  const value = res.getHeader(OVERHEAD_HEADER) ?? writtenOverheads.get(res);
  const ms = typeof value === 'string' || typeof value === 'number' ? Number(value) : Number.NaN;
  return Number.isFinite(ms) ? ms : undefined;
}
