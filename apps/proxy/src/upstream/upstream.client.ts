import { AsyncLocalStorage } from 'node:async_hooks';
import type * as http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { errors, Pool, type Dispatcher } from 'undici';
import { workloadApiKey, type StoredService } from '@aiplane/registry';
import {
  AnswerHandler,
  currentRequestId,
  REQUEST_ID_HEADER,
  scopeStorageToRequests,
  type AnswerHead,
} from '@aiplane/server-kit';
import { keyProofConnector } from './key-proof.connector';

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

/**
 * Where a call's workload time goes, looked up when the call is made: undici's callbacks run in the
 * async context of whichever request opened the pooled connection, not of this one.
 */
function timingOf(context: CallContext | undefined): WorkloadTiming | undefined {
  return context ? context.timing : timing.getStore();
}

// Workloads are few (one per serving replica); the bound only keeps ended ones from piling up.
const POOL_LIMIT = 1024;
// A pooled connection idle this long is closed; below auth_front.py's idle cut-off (300 s), so the
// front never closes one the pool is about to use.
const POOL_IDLE_MS = 60_000;

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

/** A workload's answer once its status line and headers arrived; the body is the caller's. */
export interface StreamedResponse extends AnswerHead {
  /** Time to the response headers. */
  workloadMs: number;
}

export interface UpstreamResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Pooled connections to one workload endpoint for one key, and the endpoint's host for messages. */
interface Upstream {
  pool: Pool;
  host: string;
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
   * keyProofConnector); off only for tests that call bare simulators without a front.
   */
  proveKeys?: boolean;
}

/**
 * HTTP to workloads over pooled keep-alive connections (undici: a hop's CPU per request is what
 * bounds throughput on a login node), every request carrying the workload's API key. Failures are
 * classified by how far the exchange got, because only a failure before the request reached the
 * workload may be retried elsewhere without risking a prompt being generated twice.
 */
export class UpstreamClient {
  /** One pool per endpoint and key: a connection proven for one key never carries another's. */
  private readonly pools = new Map<string, Upstream>();

  constructor(private readonly options: UpstreamClientOptions) {}

  async request(
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
    const answer = await this.stream(workload, call);
    return { status: answer.status, headers: answer.headers, body: await answer.body.read() };
  }

  /**
   * Sends the request and resolves once the workload has answered with its status line; the body is
   * the caller's to relay or read. The workload's key and the request id are added.
   */
  stream(workload: Workload, call: StreamRequest): Promise<StreamedResponse> {
    const key = workloadApiKey(workload.service, workload.replicaIndex);
    const { pool, host } = this.upstream(
      workload.endpoint,
      this.options.proveKeys === false ? undefined : key,
    );
    // A copy: one call's headers go to each replica tried in turn, each with its own key. Every
    // workload sits behind auth_front.py, which takes a bearer token (vLLM and Qdrant take it too).
    const headers: http.OutgoingHttpHeaders = { ...call.headers };
    if (key !== undefined) headers.authorization = `Bearer ${key}`;
    const { context, body } = call;
    const requestId = context ? context.requestId : currentRequestId();
    const record = timingOf(context);
    if (requestId) headers[REQUEST_ID_HEADER] = requestId;
    return new Promise((resolve, reject) => {
      // The client's body stream failing (too large, cut) is the client's error, not the workload's.
      let bodyError: Error | undefined;
      if (body !== undefined && !Buffer.isBuffer(body)) {
        body.once('error', (error: Error) => {
          bodyError = error;
        });
      }
      const startedAt = performance.now();
      const handler = new AnswerHandler({
        head: (answer) => {
          const workloadMs = performance.now() - startedAt;
          if (record) record.workloadMs += workloadMs;
          resolve({ status: answer.status, headers: answer.headers, body: answer.body, workloadMs });
        },
        failed: (error, connected) => {
          reject(bodyError ?? classify(error, connected, host, this.options.responseTimeoutMs));
        },
      });
      pool.dispatch(
        {
          method: call.method as Dispatcher.HttpMethod,
          path: call.path,
          headers: headers as Record<string, string | string[]>,
          body: body ?? null,
          headersTimeout: this.options.responseTimeoutMs,
          // A stream may pause between tokens for as long as the model takes: never cut.
          bodyTimeout: 0,
        },
        handler,
      );
    });
  }

  close(): void {
    for (const { pool } of this.pools.values()) void pool.destroy();
    this.pools.clear();
  }

  private upstream(endpoint: string, key: string | undefined): Upstream {
    const name = key === undefined ? endpoint : `${endpoint}\n${key}`;
    let upstream = this.pools.get(name);
    if (upstream === undefined) {
      if (this.pools.size >= POOL_LIMIT) {
        // Those still answering finish first.
        for (const { pool } of this.pools.values()) void pool.close();
        this.pools.clear();
      }
      const url = new URL(endpoint);
      const pool = new Pool(url.origin, {
        connections: 256,
        pipelining: 1,
        keepAliveTimeout: POOL_IDLE_MS,
        keepAliveMaxTimeout: POOL_IDLE_MS,
        connect: keyProofConnector(key, this.options.connectTimeoutMs),
      });
      upstream = { pool, host: url.host };
      this.pools.set(name, upstream);
    }
    return upstream;
  }
}

/** Which of the caller's errors a failure before the workload's headers is. */
function classify(error: Error, connected: boolean, where: string, responseTimeoutMs: number): Error {
  // A request this proxy built wrong, or aborted itself, is not the workload's fault: no failover.
  if (error instanceof errors.InvalidArgumentError || error instanceof errors.RequestAbortedError)
    return error;
  if (error instanceof errors.HeadersTimeoutError)
    return new UpstreamTimeoutError(`${where} did not answer within ${String(responseTimeoutMs)} ms`);
  // Never handed a connection (refused, unreachable, no proof of the key): nothing was sent. A
  // kept-alive connection the workload closed as the request went out fails the same way.
  const code = (error as NodeJS.ErrnoException).code;
  if (!connected || code === 'ECONNRESET' || code === 'EPIPE' || error instanceof errors.SocketError)
    return new UpstreamConnectError(`${where}: ${error.message}`);
  return new UpstreamFailedError(`${where}: ${error.message}`);
}
