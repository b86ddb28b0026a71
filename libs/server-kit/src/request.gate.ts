import * as http from 'node:http';
import { performance } from 'node:perf_hooks';
import {
  bodyLimitFor,
  bodyTooLargeMessage,
  InvalidServiceIdError,
  matchPassThrough,
  OVERHEAD_HEADER,
  type PassThroughHop,
  type PassThroughKind,
} from '@aiplane/contracts';
import { formatMs, passThroughErrorBody } from './pass-through.dispatcher';
import { noteOverhead } from './http.metrics';
import { dropUnreadBody } from './refused-body.rules';
import { acceptRequestId, REQUEST_ID_HEADER } from './request-context';

/** The names a local-only hop answers to whatever else is configured; any port. */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

export interface RequestGateOptions {
  hop: PassThroughHop;
  /**
   * The `Host` names (lower case, no port) this hop answers; any other, or none, is 421. Undefined
   * accepts any Host (the orchestrator, which a bearer token guards instead).
   */
  allowedHosts?: readonly string[];
  /** Why a request is refused for its credentials (401), or undefined to let it through. */
  refuse?: (req: http.IncomingMessage) => string | undefined;
}

/** A refusal the gate answers itself, before anything reads the request's body. */
export interface GateRefusal {
  status: 401 | 413 | 421;
  code: string;
  message: string;
}

type RequestListener = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** `example.org:8001` → `example.org`; `[::1]:8001` → `[::1]`; undefined when it is no host at all. */
export function hostName(header: string | undefined): string | undefined {
  const value = header?.trim().toLowerCase();
  if (value === undefined || value === '') return undefined;
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    const rest = value.slice(end + 1);
    return end < 0 || (rest !== '' && !/^:\d{1,5}$/.test(rest)) ? undefined : value.slice(0, end + 1);
  }
  const match = /^([^:\s/@]+)(?::\d{1,5})?$/.exec(value);
  return match?.[1];
}

/**
 * The first listener of a hop's server: runs on the raw `request` event, before the data-plane
 * pass-through and before Nest, so before any body is read. It refuses a Host the hop does not
 * answer (DNS rebinding: a web page whose name was re-pointed at 127.0.0.1 sends its own name),
 * a request without the hop's credentials, and a body whose declared length is over its route's
 * limit. A body of undeclared length is counted while it is read, by the pass-through or by the
 * JSON parser (createHttpApp's `bodyLimit`).
 */
export class RequestGate {
  private readonly allowed: ReadonlySet<string> | undefined;
  private lastAllowedHost: string | undefined;

  constructor(private readonly options: RequestGateOptions) {
    this.allowed =
      options.allowedHosts === undefined
        ? undefined
        : new Set(options.allowedHosts.map((name) => name.trim().toLowerCase()));
  }

  /** Puts the gate before the server's one request listener (the pass-through's, or Nest's). */
  install(server: http.Server): void {
    const listeners = server.listeners('request') as RequestListener[];
    if (listeners.length !== 1) {
      throw new Error(`Expected one request listener on the server, found ${String(listeners.length)}`);
    }
    const next = listeners[0] as RequestListener;
    server.removeAllListeners('request');
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const started = performance.now();
      const refusal = this.check(req);
      if (refusal === undefined) {
        next(req, res);
        return;
      }
      answer(req, res, this.options.hop, refusal, started);
    });
  }

  /** Why the gate refuses `req`, or undefined to pass it on. */
  check(req: http.IncomingMessage): GateRefusal | undefined {
    if (this.allowed !== undefined) {
      const header = req.headers.host;
      // A client sends the same Host on every request: an allowed one is checked once, not parsed
      // (trimmed, lower-cased, matched) on each.
      if (header !== undefined && header === this.lastAllowedHost) return this.checkAfterHost(req);
      const name = hostName(header);
      if (name === undefined || !this.allowed.has(name)) {
        return {
          status: 421,
          code: 'host_not_allowed',
          message:
            name === undefined
              ? 'Request has no valid Host header; this server answers only requests addressed to it by name'
              : `This server does not answer requests for the host "${name.slice(0, 100)}": it answers ${[...this.allowed].join(', ')} (add a name to GATEWAY_ALLOWED_HOSTS to allow it)`,
        };
      }
      this.lastAllowedHost = header;
    }
    return this.checkAfterHost(req);
  }

  private checkAfterHost(req: http.IncomingMessage): GateRefusal | undefined {
    const unauthorized = this.options.refuse?.(req);
    if (unauthorized !== undefined) return { status: 401, code: 'invalid_api_key', message: unauthorized };
    const declared = req.headers['content-length'];
    if (declared !== undefined) {
      const limit = bodyLimitFor(this.options.hop, req.method ?? 'GET', req.url ?? '/');
      if (Number(declared) > limit) {
        return { status: 413, code: 'request_too_large', message: bodyTooLargeMessage(limit) };
      }
    }
    return undefined;
  }
}

function kindOf(hop: PassThroughHop, req: http.IncomingMessage): PassThroughKind {
  try {
    return matchPassThrough(hop, req.method ?? 'GET', req.url ?? '/')?.kind ?? 'route';
  } catch (error) {
    if (error instanceof InvalidServiceIdError) return 'route';
    throw error;
  }
}

function answer(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  hop: PassThroughHop,
  refusal: GateRefusal,
  started: number,
): void {
  const requestId = acceptRequestId(req.headers[REQUEST_ID_HEADER]);
  const body = passThroughErrorBody(
    kindOf(hop, req),
    refusal.status,
    refusal.message,
    refusal.code,
    requestId,
  );
  const headers: http.OutgoingHttpHeaders = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    [REQUEST_ID_HEADER]: requestId,
    [OVERHEAD_HEADER]: noteOverhead(res, formatMs(performance.now() - started)),
  };
  dropUnreadBody(req, headers, refusal.status);
  res.writeHead(refusal.status, headers).end(body);
}
