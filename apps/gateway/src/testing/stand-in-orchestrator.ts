import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type StandInHandler = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  body: string,
) => void | Promise<void>;

/** The gateway's own checks of the orchestrator, as opposed to requests it forwards. */
export const PROBE_PATHS: readonly string[] = ['/api/health', '/api/ready'];

/** Answers GET /api/health and /api/ready, and echoes every other request back as JSON. */
export const echoHandler: StandInHandler = (req, res, body) => {
  if (PROBE_PATHS.includes(req.url ?? '')) {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    return;
  }
  res
    .writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'stand-in' })
    .end(
      JSON.stringify({ method: req.method, url: req.url, body: body ? (JSON.parse(body) as unknown) : null }),
    );
};

/**
 * A real HTTP server standing in for the orchestrator in tests: it records what reached it, so a
 * test can assert on the exact upstream method, path, headers and body the gateway produced.
 */
export class StandInOrchestrator {
  readonly requests: RecordedRequest[] = [];
  /** TCP connections accepted so far: shows whether the gateway reuses them. */
  connections = 0;
  handler: StandInHandler = echoHandler;
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      Promise.resolve(this.handler(req, res, body)).catch((error: unknown) => {
        res.destroy(error instanceof Error ? error : new Error(String(error)));
      });
    });
  });

  constructor() {
    this.server.on('connection', () => {
      this.connections += 1;
    });
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        resolve();
      });
    });
    return this;
  }

  /** Requests other than the health checks the gateway makes on its own. */
  forwarded(): RecordedRequest[] {
    return this.requests.filter((request) => !PROBE_PATHS.includes(request.url));
  }

  reset(): void {
    this.requests.length = 0;
    this.handler = echoHandler;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
  }
}

/** A port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  return port;
}
