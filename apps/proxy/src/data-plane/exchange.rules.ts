import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { OVERHEAD_HEADER, WORKLOAD_TIME_HEADER } from '@aiplane/contracts';
import { formatMs, HOP_BY_HOP_HEADERS, noteOverhead, REQUEST_ID_HEADER } from '@aiplane/server-kit';

/** One request on the raw data plane: when it arrived (for the overhead header) and its id. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  /** performance.now() when it arrived. */
  startedAt: number;
  requestId: string;
}

/** A body over its route's limit: refused before (Content-Length) or while (chunked) it is read. */
export class BodyTooLargeError extends Error {
  readonly code = 'BODY_TOO_LARGE';
  constructor(readonly limit: number) {
    super(`Request body is larger than the ${limit} byte limit`);
  }
}

// Beyond the connection's own headers: the client's credentials, which no workload may see (the
// proxy adds the job's key), and what is set per hop.
const NOT_FORWARDED = new Set([
  ...HOP_BY_HOP_HEADERS,
  'host',
  'content-length',
  'expect',
  'authorization',
  'api-key',
  'cookie',
  REQUEST_ID_HEADER,
]);

/** The client's headers a workload may see; the connection's own and every credential stay behind. */
export function forwardedHeaders(req: IncomingMessage): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  const from = req.headers;
  for (const name in from) {
    const value = from[name];
    if (value !== undefined && !NOT_FORWARDED.has(name) && !name.startsWith('x-aiplane-'))
      headers[name] = value;
  }
  return headers;
}

export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Refused from Content-Length alone, before a byte is read. */
export function declaredTooLarge(req: IncomingMessage, limit: number): boolean {
  const length = Number(req.headers['content-length'] ?? '0');
  return Number.isFinite(length) && length > limit;
}

/** The whole body, refused as soon as it passes `limit` (Content-Length is checked first). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  if (declaredTooLarge(req, limit)) return Promise.reject(new BodyTooLargeError(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        // Drain the rest unread, so the answer can still go out on this connection.
        req.resume();
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => {
      // A prompt's body is most often one chunk: no copy then.
      resolve(chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, size));
    });
    req.on('error', reject);
  });
}

export function isJsonContentType(req: IncomingMessage): boolean {
  const type = req.headers['content-type'];
  if (type === undefined) return false;
  if (type === 'application/json') return true;
  const essence = type.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return essence === 'application/json' || (essence.startsWith('application/') && essence.endsWith('+json'));
}

export function elapsedMs(ex: Exchange): number {
  return performance.now() - ex.startedAt;
}

/**
 * Adds the timing headers to `headers`: overhead is everything but the workload's time to its
 * response headers.
 */
export function stampTiming(
  headers: OutgoingHttpHeaders,
  ex: Exchange,
  workloadMs: number | undefined,
): OutgoingHttpHeaders {
  headers[OVERHEAD_HEADER] = noteOverhead(ex.res, formatMs(elapsedMs(ex) - (workloadMs ?? 0)));
  if (workloadMs !== undefined) headers[WORKLOAD_TIME_HEADER] = formatMs(workloadMs);
  return headers;
}

/** An answer the proxy makes itself (no workload involved). */
export function sendJson(
  ex: Exchange,
  status: number,
  body: unknown,
  headers: OutgoingHttpHeaders = {},
  workloadMs?: number,
): void {
  const { res } = ex;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(
    status,
    stampTiming(
      {
        'content-type': 'application/json',
        'content-length': payload.length,
        [REQUEST_ID_HEADER]: ex.requestId,
        ...headers,
      },
      ex,
      workloadMs,
    ),
  );
  res.end(payload);
}
