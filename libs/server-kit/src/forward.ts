import * as http from 'node:http';
import * as net from 'node:net';
import { Pool, type buildConnector } from 'undici';
import type { Request, Response } from 'express';
import { GatewayTimeoutError, UnavailableError } from './errors';
import { HOP_BY_HOP_HEADERS } from './hop-headers.rules';
import { currentRequestId, REQUEST_ID_HEADER } from './request-context';

export interface UpstreamRequest {
  method: string;
  /** Path and query on the upstream, e.g. `/api/services/start?x=1`. */
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface ForwarderOptions {
  /** Name used in error messages: "orchestrator", "proxy". */
  name: string;
  baseUrl: string;
  /** How connections are made: a keep-alive agent, or one that opens SSH channels. */
  agent: http.Agent;
  /** Time allowed for the upstream to start answering; streaming bodies are not cut. */
  timeoutMs: number;
}

// Host and length are the upstream request's own, set by node:http for the bytes it sends.
const HOP_BY_HOP = new Set([...HOP_BY_HOP_HEADERS, 'host', 'content-length']);

/**
 * Streams one HTTP exchange to an upstream service. Connection failures and silence become 503 and
 * 504 errors that say which hop failed, so a client never hangs on an unreachable cluster.
 */
export class HttpForwarder {
  private readonly base: URL;

  constructor(private readonly options: ForwarderOptions) {
    this.base = new URL(options.baseUrl);
  }

  /** Sends the request and resolves once the upstream has answered with a status line. */
  request(upstream: UpstreamRequest): Promise<http.IncomingMessage> {
    const body = upstream.body === undefined ? undefined : Buffer.from(JSON.stringify(upstream.body));
    const headers: Record<string, string> = { accept: 'application/json', ...upstream.headers };
    const requestId = currentRequestId();
    if (requestId) headers[REQUEST_ID_HEADER] = requestId;
    if (body) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(body.length);
    }
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          protocol: this.base.protocol,
          hostname: this.base.hostname,
          port: this.base.port,
          method: upstream.method,
          path: upstream.path,
          headers,
          agent: this.options.agent,
        },
        (res) => {
          req.setTimeout(0);
          resolve(res);
        },
      );
      req.setTimeout(this.options.timeoutMs, () => {
        req.destroy(
          new GatewayTimeoutError(
            `The ${this.options.name} did not answer within ${this.options.timeoutMs} ms`,
          ),
        );
      });
      req.on('error', (error: Error) => {
        reject(
          error instanceof GatewayTimeoutError
            ? error
            : new UnavailableError(`The ${this.options.name} is unreachable: ${error.message}`),
        );
      });
      req.end(body);
    });
  }

  /** Forwards `req` (already body-parsed by Nest) and streams the answer into `res`. */
  async forward(
    req: Request,
    res: Response,
    path: string,
    extraHeaders: Record<string, string> = {},
  ): Promise<void> {
    const hasBody = !['GET', 'HEAD', 'DELETE'].includes(req.method) && req.body !== undefined;
    const headers: Record<string, string> = { ...extraHeaders };
    const accept = req.headers.accept;
    if (accept) headers.accept = accept;
    const upstream = await this.request({
      method: req.method,
      path,
      headers,
      body: hasBody ? (req.body as unknown) : undefined,
    });
    pipeResponse(upstream, res);
  }
}

export function pipeResponse(upstream: http.IncomingMessage, res: Response): void {
  res.status(upstream.statusCode ?? 502);
  for (const [key, value] of Object.entries(upstream.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(key) && key !== REQUEST_ID_HEADER) res.setHeader(key, value);
  }
  // Server-sent events must reach the client token by token, not when a buffer fills.
  res.flushHeaders();
  upstream.pipe(res);
  res.on('close', () => {
    upstream.destroy();
  });
}

/**
 * Node's servers close a keep-alive connection after 5 s idle (plus a second of grace); a request
 * sent on it at that moment fails with ECONNRESET, a 503 the client did nothing to cause. node:http
 * retires idle sockets a second before the server's announced `Keep-Alive: timeout=5` only when the
 * agent has a timeout of its own, hence this one. It never cuts a request short: HttpForwarder sets
 * each request's timeout itself and lifts it once the answer starts.
 */
const AGENT_SOCKET_TIMEOUT_MS = 60_000;

export function keepAliveAgent(maxSockets = 64): http.Agent {
  return new http.Agent({
    keepAlive: true,
    maxSockets,
    keepAliveMsecs: 10_000,
    timeout: AGENT_SOCKET_TIMEOUT_MS,
  });
}

/**
 * Keep-alive connections to a Unix socket (a peer on the same machine): the request's URL keeps
 * naming a host for the Host header, and every connection goes to `socketPath` instead.
 */
export class UnixSocketAgent extends http.Agent {
  constructor(
    readonly socketPath: string,
    maxSockets = 64,
  ) {
    super({ keepAlive: true, maxSockets, keepAliveMsecs: 10_000, timeout: AGENT_SOCKET_TIMEOUT_MS });
  }

  override createConnection(): net.Socket {
    return net.createConnection({ path: this.socketPath });
  }
}

/** The base URL a socket peer is addressed by: only its Host header sees it. */
export const SOCKET_BASE_URL = 'http://localhost';

/** How a pass-through pool opens a connection, when not over TCP or a Unix socket (an SSH channel). */
export type PoolConnector = buildConnector.connector;

/**
 * Keep-alive connections for a pass-through hop (`PassThroughUpstream.dispatcher`): to `baseUrl`
 * over TCP, to `socketPath` when given (`baseUrl` then only names the Host header), or through
 * `connect`. undici retires an idle connection before the peer's announced `Keep-Alive: timeout`,
 * so a request never goes out on one the peer is closing.
 */
export function passThroughPool(
  baseUrl: string,
  where: { socketPath?: string | undefined; connect?: PoolConnector } = {},
): Pool {
  return new Pool(new URL(baseUrl).origin, {
    connections: 64,
    pipelining: 1,
    ...(where.socketPath === undefined ? {} : { socketPath: where.socketPath }),
    ...(where.connect === undefined ? {} : { connect: where.connect }),
  });
}
