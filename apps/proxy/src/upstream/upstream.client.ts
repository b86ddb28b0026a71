import { AsyncLocalStorage } from 'node:async_hooks';
import * as http from 'node:http';
import type { Readable } from 'node:stream';
import { workloadApiKey, workloadAuthHeaders, type StoredService } from '@aiplane/registry';
import { currentRequestId, REQUEST_ID_HEADER, scopeStorageToRequests } from '@aiplane/server-kit';
import { KeyProofAgent, type KeyProofOptions } from './key-proof.agent';

/** The workload could not be reached at all: nothing was sent, so trying another replica is safe. */
export class UpstreamConnectError extends Error {
  readonly code = 'UPSTREAM_CONNECT';
}

/** The workload accepted the request and then failed before answering; not retried. */
export class UpstreamFailedError extends Error {
  readonly code = 'UPSTREAM_FAILED';
}

/** The workload accepted the request but did not answer in time. */
export class UpstreamTimeoutError extends Error {
  readonly code = 'UPSTREAM_TIMEOUT';
}

/** Milliseconds the workloads of one request took to their response headers, summed. */
export interface WorkloadTiming {
  workloadMs: number;
}

/**
 * Whom a workload call is made for, handed down by the raw data plane. It passes this explicitly
 * rather than through AsyncLocalStorage: on Node 20 a store that was ever entered turns on an async
 * hook that every promise and socket of the process pays for, and the raw path never enters one.
 */
export interface CallContext {
  requestId: string;
  /** Where the call's time to the workload's headers is added. */
  timing?: WorkloadTiming;
}

const timing = new AsyncLocalStorage<WorkloadTiming>();
// Nest's requests enter it; off again while none is in flight, like the request id's.
scopeStorageToRequests(timing);

/** Runs `fn` with a timing that every workload call made within it adds to (Nest's routes). */
export function withWorkloadTiming<T>(record: WorkloadTiming, fn: () => T): T {
  return timing.run(record, fn);
}

function addWorkloadTime(context: CallContext | undefined, ms: number): void {
  const record = context ? context.timing : timing.getStore();
  if (record) record.workloadMs += ms;
}

interface Endpoint {
  protocol: string;
  hostname: string;
  port: string;
  host: string;
}

// Endpoints are few (one per serving replica); the bound only keeps ended ones from piling up.
const ENDPOINT_CACHE_LIMIT = 1024;

/** What a streamed call sends: the original bytes, or a stream of them (which cannot be retried). */
export interface StreamRequest {
  method: string;
  /** Path and query on the workload. */
  path: string;
  headers: http.OutgoingHttpHeaders;
  body?: Buffer | Readable;
  /** The request it is made for; without it, the one AsyncLocalStorage holds (Nest's routes). */
  context?: CallContext;
}

export interface StreamedResponse {
  response: http.IncomingMessage;
  /** The request, for destroying it when the client goes away. */
  request: http.ClientRequest;
  /** Time to the response headers. */
  workloadMs: number;
}

export interface UpstreamResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A workload to call: where it listens, and the record that says what it is and its API key. */
export interface Workload {
  endpoint: string;
  service: Pick<StoredService, 'kind' | 'api_key'>;
  /** A group's replica runs with a key of its own (derived from the node job's). */
  replicaIndex?: number;
}

export interface UpstreamClientOptions {
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  /**
   * Every new connection to a keyed workload first has its peer prove it holds the key (see
   * KeyProofAgent); off only for tests that call bare simulators without a front.
   */
  proveKeys?: boolean;
}

/**
 * HTTP to workloads over pooled keep-alive connections, every request carrying the workload's API
 * key. Failures are classified by how far the exchange got, because only a failure before the
 * request reached the workload may be retried elsewhere without risking a prompt being generated twice.
 */
export class UpstreamClient {
  private readonly agent: http.Agent;
  private readonly endpoints = new Map<string, Endpoint>();

  constructor(private readonly options: UpstreamClientOptions) {
    const agentOptions = { keepAlive: true, maxSockets: 256, keepAliveMsecs: 10_000 };
    this.agent =
      options.proveKeys === false
        ? new http.Agent(agentOptions)
        : new KeyProofAgent(agentOptions, options.connectTimeoutMs);
  }

  request(
    workload: Workload,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    context?: CallContext,
  ): Promise<UpstreamResponse> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const requestHeaders: Record<string, string> = { accept: 'application/json', ...headers };
    if (payload) requestHeaders['content-type'] = 'application/json';
    const call: StreamRequest = { method, path, headers: requestHeaders, body: payload };
    if (context) call.context = context;
    return this.stream(workload, call).then(
      ({ response }) =>
        new Promise<UpstreamResponse>((resolve, reject) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            resolve({
              status: response.statusCode ?? 502,
              headers: response.headers,
              body: Buffer.concat(chunks),
            });
          });
          response.on('error', reject);
          response.on('aborted', () => {
            reject(new Error('the workload closed the connection mid-answer'));
          });
        }),
    );
  }

  /**
   * Sends the request and resolves once the workload has answered with its status line; the body is
   * the caller's to consume. The workload's key and the request id are added; `content-length` is
   * set for a buffered body.
   */
  stream(workload: Workload, call: StreamRequest): Promise<StreamedResponse> {
    return new Promise((resolve, reject) => {
      const url = this.endpoint(workload.endpoint);
      const headers: http.OutgoingHttpHeaders = {
        ...call.headers,
        ...workloadAuthHeaders(workload.service, workload.replicaIndex),
      };
      const { context } = call;
      const requestId = context ? context.requestId : currentRequestId();
      if (requestId) headers[REQUEST_ID_HEADER] = requestId;
      const { body } = call;
      if (Buffer.isBuffer(body)) headers['content-length'] = String(body.length);
      let connected = false;
      let settled = false;
      // The client's body stream failing (too large, cut) is the client's error, not the workload's.
      let bodyError: Error | undefined;
      const startedAt = process.hrtime.bigint();
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        reject(error);
      };
      const key = workloadApiKey(workload.service, workload.replicaIndex);
      const options: http.RequestOptions & KeyProofOptions = {
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port,
        method: call.method,
        path: call.path,
        headers,
        agent: this.agent,
        ...(key === undefined ? {} : { workloadKey: key }),
      };
      const req = http.request(options, (res) => {
        clearTimeout(responseTimer);
        if (settled) {
          res.resume();
          return;
        }
        settled = true;
        const workloadMs = Number(process.hrtime.bigint() - startedAt) / 1e6;
        addWorkloadTime(context, workloadMs);
        resolve({ response: res, request: req, workloadMs });
      });
      const connectTimer = setTimeout(() => {
        req.destroy(
          new UpstreamConnectError(`no connection to ${url.host} within ${this.options.connectTimeoutMs} ms`),
        );
      }, this.options.connectTimeoutMs);
      const responseTimer = setTimeout(() => {
        req.destroy(
          new UpstreamTimeoutError(`${url.host} did not answer within ${this.options.responseTimeoutMs} ms`),
        );
      }, this.options.responseTimeoutMs);
      req.on('socket', (socket) => {
        const onConnect = (): void => {
          connected = true;
          clearTimeout(connectTimer);
        };
        // A pooled socket is already connected.
        if (!socket.connecting) onConnect();
        else socket.once('connect', onConnect);
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(connectTimer);
        clearTimeout(responseTimer);
        if (bodyError !== undefined) {
          fail(bodyError);
        } else if (error instanceof UpstreamConnectError || error instanceof UpstreamTimeoutError) {
          fail(error);
        } else {
          // A reused keep-alive socket the workload had closed also fails before anything was processed.
          const beforeRequest = !connected || error.code === 'ECONNRESET' || error.code === 'EPIPE';
          fail(
            beforeRequest
              ? new UpstreamConnectError(`${url.host}: ${error.message}`)
              : new UpstreamFailedError(`${url.host}: ${error.message}`),
          );
        }
      });
      req.on('close', () => {
        clearTimeout(connectTimer);
        clearTimeout(responseTimer);
      });
      if (body === undefined || Buffer.isBuffer(body)) {
        req.end(body);
      } else {
        body.on('error', (error: Error) => {
          bodyError = error;
          req.destroy(error);
        });
        body.pipe(req);
      }
    });
  }

  close(): void {
    this.agent.destroy();
  }

  /** The parts of an endpoint URL a request needs, parsed once per endpoint. */
  private endpoint(endpoint: string): Endpoint {
    let parsed = this.endpoints.get(endpoint);
    if (parsed === undefined) {
      const url = new URL(endpoint);
      parsed = { protocol: url.protocol, hostname: url.hostname, port: url.port, host: url.host };
      if (this.endpoints.size >= ENDPOINT_CACHE_LIMIT) this.endpoints.clear();
      this.endpoints.set(endpoint, parsed);
    }
    return parsed;
  }
}
