import * as http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { errors as undiciErrors, type Dispatcher } from 'undici';
import {
  InvalidServiceIdError,
  matchPassThrough,
  OVERHEAD_HEADER,
  WORKLOAD_TIME_HEADER,
  type PassThrough,
  type PassThroughHop,
  type PassThroughKind,
} from '@aiplane/contracts';
import { AnswerHandler, type AnswerHead } from './answer.handler';
import { BodyLimit } from './body-limit.stream';
import { HOP_BY_HOP_HEADERS } from './hop-headers.rules';
import { noteOverhead } from './http.metrics';
import { dropUnreadBody } from './refused-body.rules';
import { acceptRequestId, REQUEST_ID_HEADER } from './request-context';

/** Where a hop streams its data-plane requests: the proxy, over HTTP or an SSH channel. */
export interface PassThroughUpstream {
  /** Named in error messages: "data-plane proxy". */
  name: string;
  /** `http://host:port`, as the dispatcher's connections see it (in SSH mode: from the SSH server). */
  baseUrl: string;
  /**
   * Pooled keep-alive connections (an undici `Pool`): sockets, or channels of an SSH connection.
   * undici rather than node:http because a hop's CPU per request bounds a login node's throughput.
   */
  dispatcher: Dispatcher;
  /** Sent as `Authorization: Bearer <token>`; the proxy refuses requests without it when it has one. */
  token: string | undefined;
  /** Time allowed for the upstream to start answering; a streamed answer is never cut. */
  timeoutMs: number;
}

export interface PassThroughOptions {
  hop: PassThroughHop;
  upstream: PassThroughUpstream;
  /**
   * Checks a pass-through request before anything is forwarded (the orchestrator's bearer token):
   * the reason it is refused (401), or undefined to let it through.
   */
  refuse?: (req: http.IncomingMessage) => string | undefined;
  /**
   * A number taken when a request starts and handed back to `explainFailure`: how the transport
   * knows whether the request lost its connection under it (the SSH tunnel's drop count).
   */
  transportEpoch?: () => number;
  /** Rewords a failure to reach the upstream (an SSH tunnel that dropped); undefined keeps the error's. */
  explainFailure?: (error: Error, epoch: number) => string | undefined;
  /** The hop's public prefix, sent as X-Forwarded-Prefix for paths under it. */
  prefix?: string;
}

/** The request's own listener, the one Nest (express) installed. */
type RequestListener = (req: http.IncomingMessage, res: http.ServerResponse) => void;

// Never sent on: the client's credentials (the proxy adds the workload's key, this hop the proxy's
// token), its idea of our address, and its forwarding claims, which this hop replaces with its own.
// `expect` was answered here already.
const REQUEST_DROPPED = new Set([
  ...HOP_BY_HOP_HEADERS,
  'expect',
  'host',
  'authorization',
  'cookie',
  'api-key',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-prefix',
  'x-forwarded-port',
]);
const SAFE_HOST = /^[A-Za-z0-9.:[\]-]{1,300}$/;
const EVENT_STREAM = 'text/event-stream';
/** A per-service OpenAI path (`.../vllm/<id>/v1/...`), whose errors take OpenAI's shape. */
const PER_SERVICE_OPENAI = /\/vllm\/[^/?]+\/v1(?:[/?]|$)/;

/**
 * A declared body up to this size is gathered (never read) and goes out in one write with the
 * head, as nginx gathers one up to its client_body_buffer_size (16 KiB): undici's path for a buffer
 * costs a tenth of this hop's CPU less than its path for a stream, and a prompt is that small.
 * Larger bodies stream as they arrive.
 */
const GATHERED_BODY_LIMIT = 16 * 1024;

/** The whole of a small body, to `done` once it has all arrived (never, if the client goes away). */
function gather(req: http.IncomingMessage, done: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    done(chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks));
  });
}

/** A chunked body that passed its route's limit while it streamed. */
class BodyTooLargeError extends Error {}

/** Milliseconds with one decimal, never negative. */
export function formatMs(ms: number): string {
  return (ms > 0 ? ms : 0).toFixed(1);
}

/** This hop's share of the time to the answer's headers: the total minus what the workload took. */
export function overheadMs(totalMs: number, workloadHeader: unknown): number {
  const workload = typeof workloadHeader === 'string' ? Number(workloadHeader) : Number.NaN;
  return Number.isFinite(workload) ? totalMs - workload : totalMs;
}

/** OpenAI's error `type` for an HTTP status, as its SDKs map them to exception classes. */
export function openAiErrorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status < 500) return 'invalid_request_error';
  return 'server_error';
}

/**
 * An error body in the shape clients of that kind of route parse: OpenAI's on `/v1` routes, the
 * data-plane envelope (as HttpErrorFilter writes it) everywhere else.
 */
export function passThroughErrorBody(
  kind: PassThroughKind,
  status: number,
  message: string,
  code: string,
  requestId: string,
): string {
  if (kind === 'openai') return JSON.stringify({ error: { message, type: openAiErrorType(status), code } });
  return JSON.stringify({
    success: false,
    statusCode: status,
    error: http.STATUS_CODES[status] ?? 'Error',
    message,
    request_id: requestId,
  });
}

/**
 * The data plane's path through a hop, in front of Nest: a request `matchPassThrough` names is
 * streamed to the proxy as it arrives (no body parsing, no validation, no JSON) and the answer is
 * streamed back chunk by chunk. Everything else goes to Nest, with the overhead header added to its
 * answer. Each request costs a few header operations and one of undici's coarse timers; nothing is
 * logged.
 */
export class PassThroughDispatcher {
  private readonly origin: string;

  constructor(private readonly options: PassThroughOptions) {
    const base = new URL(options.upstream.baseUrl);
    this.origin = base.origin;
  }

  /** Puts the dispatcher before the server's own request listener (Nest's), which gets the rest. */
  install(server: http.Server): void {
    const listeners = server.listeners('request') as RequestListener[];
    if (listeners.length !== 1) {
      throw new Error(`Expected one request listener on the server, found ${String(listeners.length)}`);
    }
    const nest = listeners[0] as RequestListener;
    server.removeAllListeners('request');
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.dispatch(req, res, nest);
    });
  }

  /** Ends the upstream's pooled connections. */
  close(): void {
    void this.options.upstream.dispatcher.destroy();
  }

  dispatch(req: http.IncomingMessage, res: http.ServerResponse, next: RequestListener): void {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    let match: PassThrough | undefined;
    try {
      match = matchPassThrough(this.options.hop, method, url);
    } catch (error) {
      if (!(error instanceof InvalidServiceIdError)) throw error;
      const kind: PassThroughKind = PER_SERVICE_OPENAI.test(url) ? 'openai' : 'route';
      const requestId = acceptRequestId(req.headers[REQUEST_ID_HEADER]);
      this.refuse(req, res, started, kind, 400, error.message, 'invalid_service_id', requestId);
      return;
    }
    if (match === undefined) {
      stampOverhead(res, started);
      next(req, res);
      return;
    }
    this.pass(req, res, match, started);
  }

  private pass(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    match: PassThrough,
    started: number,
  ): void {
    const { upstream, refuse, transportEpoch } = this.options;
    const requestId = acceptRequestId(req.headers[REQUEST_ID_HEADER]);
    const { kind, bodyLimit } = match;
    const refusal = refuse?.(req);
    if (refusal !== undefined) {
      this.refuse(req, res, started, kind, 401, refusal, 'invalid_api_key', requestId);
      return;
    }
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > bodyLimit) {
      this.refuse(req, res, started, kind, 413, tooLarge(bodyLimit), 'request_too_large', requestId);
      return;
    }
    const epoch = transportEpoch ? transportEpoch() : 0;
    // Within a declared length (checked above) the client's framing holds the body to it; a chunked
    // one is counted as it streams.
    let body: Readable | null = null;
    if (declared !== undefined && declared !== '0') body = req;
    else if (declared === undefined && req.headers['transfer-encoding'] !== undefined)
      body = req.pipe(new BodyLimit(bodyLimit, (limit) => new BodyTooLargeError(tooLarge(limit))));
    const headers = this.upstreamHeaders(req, requestId);
    const handler = new AnswerHandler({
      head: (answer) => {
        this.relay(res, answer, started, requestId);
      },
      failed: (error) => {
        if (res.headersSent || res.destroyed) {
          res.destroy();
          return;
        }
        if (error instanceof BodyTooLargeError) {
          this.refuse(req, res, started, kind, 413, tooLarge(bodyLimit), 'request_too_large', requestId);
          return;
        }
        if (error instanceof undiciErrors.HeadersTimeoutError) {
          const message = `The ${upstream.name} did not answer within ${String(upstream.timeoutMs)} ms`;
          this.refuse(req, res, started, kind, 504, message, 'upstream_timeout', requestId);
          return;
        }
        const reason = this.options.explainFailure?.(error, epoch) ?? error.message;
        const message = `The ${upstream.name} is unreachable: ${reason}`;
        this.refuse(req, res, started, kind, 503, message, 'upstream_unavailable', requestId);
      },
    });
    // The client went away (or its upload broke): the proxy, and through it the workload, must hear it.
    res.on('close', () => {
      if (!res.writableFinished) handler.abort();
    });
    const send = (payload: Readable | Buffer | null): void => {
      upstream.dispatcher.dispatch(
        {
          origin: this.origin,
          method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
          path: match.proxyPath,
          headers: headers as Record<string, string | string[]>,
          body: payload,
          headersTimeout: upstream.timeoutMs,
          // A stream may pause between tokens for as long as the model takes: never cut.
          bodyTimeout: 0,
        },
        handler,
      );
    };
    if (body === req && Number(declared) <= GATHERED_BODY_LIMIT) gather(req, send);
    else send(body);
  }

  /** The proxy's answer, on to the client as it arrives. */
  private relay(res: http.ServerResponse, answer: AnswerHead, started: number, requestId: string): void {
    // End-to-end headers only (AnswerHandler leaves out the connection's own).
    const answerHeaders = answer.headers;
    answerHeaders[OVERHEAD_HEADER] = noteOverhead(
      res,
      formatMs(overheadMs(performance.now() - started, answerHeaders[WORKLOAD_TIME_HEADER])),
    );
    answerHeaders[REQUEST_ID_HEADER] = requestId;
    res.writeHead(answer.status, answerHeaders);
    const contentType = answerHeaders['content-type'];
    const events = typeof contentType === 'string' && contentType.startsWith(EVENT_STREAM);
    // An event stream's client is waiting for the headers; other answers send them with the body.
    if (events) res.flushHeaders();
    const { name } = this.options.upstream;
    answer.body.relay(res, {
      end: () => {
        res.end();
      },
      fail: () => {
        if (res.writableEnded || res.destroyed) return;
        if (events) {
          // Never a silent truncation: one error event, then a clean end the client can read.
          res.end(
            `data: ${passThroughErrorBody('openai', 502, `The ${name}'s answer broke off mid-stream`, 'upstream_disconnected', requestId)}\n\n`,
          );
        } else {
          res.destroy();
        }
      },
    });
  }

  private upstreamHeaders(req: http.IncomingMessage, requestId: string): http.OutgoingHttpHeaders {
    const from = req.headers;
    const { host, connection } = from;
    // Built afresh rather than deleted from: a deleted property makes a slow dictionary of the object
    // that undici then walks.
    const named =
      typeof connection === 'string' && connection !== 'keep-alive' && connection !== 'close'
        ? new Set(connection.split(',').map((token) => token.trim().toLowerCase()))
        : undefined;
    const headers: http.OutgoingHttpHeaders = {};
    for (const name in from) {
      if (REQUEST_DROPPED.has(name) || named?.has(name) === true) continue;
      headers[name] = from[name];
    }
    const { token } = this.options.upstream;
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    headers[REQUEST_ID_HEADER] = requestId;
    const address = req.socket.remoteAddress;
    if (address !== undefined) headers['x-forwarded-for'] = address;
    if (typeof host === 'string' && SAFE_HOST.test(host)) headers['x-forwarded-host'] = host;
    headers['x-forwarded-proto'] = 'encrypted' in req.socket ? 'https' : 'http';
    const { prefix } = this.options;
    if (prefix !== undefined && req.url?.startsWith(`${prefix}/`)) headers['x-forwarded-prefix'] = prefix;
    return headers;
  }

  /** An answer this hop makes itself, before anything reached the proxy: the whole time is overhead. */
  private refuse(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    started: number,
    kind: PassThroughKind,
    status: number,
    message: string,
    code: string,
    requestId: string,
  ): void {
    const body = passThroughErrorBody(kind, status, message, code, requestId);
    const headers: http.OutgoingHttpHeaders = {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      [REQUEST_ID_HEADER]: requestId,
      [OVERHEAD_HEADER]: noteOverhead(res, formatMs(performance.now() - started)),
    };
    dropUnreadBody(req, headers, status);
    res.writeHead(status, headers).end(body);
  }
}

function tooLarge(limit: number): string {
  return `Request body is larger than the ${String(limit)} byte limit`;
}

/**
 * Adds the overhead header to an answer Nest writes: node:http funnels every way of sending headers
 * (writeHead, the first write, end, flushHeaders) through writeHead.
 */
function stampOverhead(res: http.ServerResponse, started: number): void {
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => http.ServerResponse;
  res.writeHead = (...args: unknown[]) => {
    if (!res.headersSent) {
      res.setHeader(
        OVERHEAD_HEADER,
        formatMs(overheadMs(performance.now() - started, res.getHeader(WORKLOAD_TIME_HEADER))),
      );
    }
    return writeHead(...args);
  };
}
