import * as http from 'node:http';
import { workloadAuthHeaders, type StoredService } from '@aiplane/registry';
import { currentRequestId, REQUEST_ID_HEADER } from '@aiplane/server-kit';

/** The workload could not be reached at all: nothing was sent, so trying another replica is safe. */
export class UpstreamConnectError extends Error {
  readonly code = 'UPSTREAM_CONNECT';
}

/** The workload accepted the request but did not answer in time. */
export class UpstreamTimeoutError extends Error {
  readonly code = 'UPSTREAM_TIMEOUT';
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
}

export interface UpstreamClientOptions {
  connectTimeoutMs: number;
  responseTimeoutMs: number;
}

/**
 * HTTP to workloads over pooled keep-alive connections, every request carrying the workload's API
 * key. Failures are classified by how far the exchange got, because only a failure before the
 * request reached the workload may be retried elsewhere without risking a prompt being generated twice.
 */
export class UpstreamClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 10_000 });

  constructor(private readonly options: UpstreamClientOptions) {}

  request(
    workload: Workload,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<UpstreamResponse> {
    return new Promise((resolve, reject) => {
      const url = new URL(path, workload.endpoint);
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const requestHeaders: Record<string, string> = {
        accept: 'application/json',
        ...headers,
        ...workloadAuthHeaders(workload.service),
      };
      const requestId = currentRequestId();
      if (requestId) requestHeaders[REQUEST_ID_HEADER] = requestId;
      if (payload) {
        requestHeaders['content-type'] = 'application/json';
        requestHeaders['content-length'] = String(payload.length);
      }
      let connected = false;
      let settled = false;
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        reject(error);
      };
      const req = http.request(url, { method, headers: requestHeaders, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          clearTimeout(responseTimer);
          if (settled) return;
          settled = true;
          resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) });
        });
        res.on('error', fail);
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
        if (error instanceof UpstreamConnectError || error instanceof UpstreamTimeoutError) {
          fail(error);
        } else {
          // A reused keep-alive socket the workload had closed also fails before anything was processed.
          const beforeRequest = !connected || error.code === 'ECONNRESET' || error.code === 'EPIPE';
          fail(beforeRequest ? new UpstreamConnectError(`${url.host}: ${error.message}`) : error);
        }
      });
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
