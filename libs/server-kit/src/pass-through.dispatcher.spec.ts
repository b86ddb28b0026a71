import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { OVERHEAD_HEADER, VECTOR_BODY_LIMIT, WORKLOAD_TIME_HEADER } from '@aiplane/contracts';
import type { Pool } from 'undici';
import { passThroughPool, SOCKET_BASE_URL } from './forward';
import {
  formatMs,
  overheadMs,
  PassThroughDispatcher,
  type PassThroughOptions,
} from './pass-through.dispatcher';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

type FakeHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** A node:http server in the proxy's place: records what reached it, answers as the test says. */
class FakeProxy {
  readonly seen: Seen[] = [];
  /** Requests whose connection closed before the fake answered them all: aborts that reached it. */
  aborted = 0;
  handler: FakeHandler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  };
  /** Called on every request as it starts, before its body is read. */
  onRequest: (req: http.IncomingMessage) => void = () => undefined;
  readonly server = http.createServer((req, res) => {
    this.onRequest(req);
    res.on('close', () => {
      if (!res.writableFinished) this.aborted += 1;
    });
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      this.seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      });
      this.handler(req, res);
    });
  });

  get url(): string {
    return `http://127.0.0.1:${String((this.server.address() as AddressInfo).port)}`;
  }
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
}

async function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
}

const TOKEN = 'proxy-token-0123456789';

describe('PassThroughDispatcher', () => {
  const proxy = new FakeProxy();
  let pool: Pool;
  /** What reached the server's own listener (Nest's, in an app). */
  const toNest: string[] = [];
  let hop: http.Server;
  let base: string;
  let options: PassThroughOptions;

  beforeAll(async () => {
    await listen(proxy.server);
    pool = passThroughPool(proxy.url);
    options = {
      hop: 'gateway',
      prefix: '/api/v1',
      upstream: {
        name: 'data-plane proxy',
        baseUrl: proxy.url,
        dispatcher: pool,
        token: TOKEN,
        timeoutMs: 1_000,
      },
    };
    hop = http.createServer((req, res) => {
      toNest.push(`${req.method ?? ''} ${req.url ?? ''}`);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('nest');
    });
    new PassThroughDispatcher(options).install(hop);
    base = await listen(hop);
  });

  afterAll(async () => {
    await pool.destroy();
    await close(hop);
    await close(proxy.server);
  });

  beforeEach(() => {
    proxy.seen.length = 0;
    proxy.aborted = 0;
    proxy.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    };
    proxy.onRequest = () => undefined;
    toNest.length = 0;
  });

  it('streams a pass-through request to its proxy path, the body byte for byte, the answer back', async () => {
    const body = '{"model":"m",  "messages":[]}';
    const res = await fetch(`${base}/api/v1/vllm/42/v1/chat/completions?x=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    expect(proxy.seen).toHaveLength(1);
    expect(proxy.seen[0]).toMatchObject({
      method: 'POST',
      url: '/api/services/vllm/42/v1/chat/completions?x=1',
    });
    expect(proxy.seen[0]?.body.toString()).toBe(body);
    expect(toNest).toEqual([]);
  });

  it('hands everything else to the server’s own listener, with the overhead header on its answer', async () => {
    const res = await fetch(`${base}/api/v1/services`);
    expect(await res.text()).toBe('nest');
    expect(toNest).toEqual(['GET /api/v1/services']);
    expect(res.headers.get(OVERHEAD_HEADER)).toMatch(/^\d+\.\d$/);
    expect(proxy.seen).toHaveLength(0);
  });

  it('forwards end-to-end headers only: never the client’s credentials, adding the token and its own x-forwarded-*', async () => {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(`${base}/v1/models`, {
        headers: {
          host: 'aiplane.example.org:8001',
          authorization: 'Bearer sk-client',
          cookie: 'a=b',
          'api-key': 'qdrant-client-key',
          connection: 'keep-alive, x-drop-me',
          'x-drop-me': 'hop header',
          'x-forwarded-host': 'evil',
          'x-forwarded-for': '10.0.0.66',
          'x-request-id': 'trace-1',
          'openai-organization': 'kept',
          accept: 'application/json',
        },
      });
      req.on('response', resolve).on('error', reject).end();
    });
    res.resume();
    expect(res.headers['x-request-id']).toBe('trace-1');
    const headers = proxy.seen[0]?.headers ?? {};
    expect(headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(headers.cookie).toBeUndefined();
    expect(headers['api-key']).toBeUndefined();
    expect(headers['x-drop-me']).toBeUndefined();
    expect(headers['x-request-id']).toBe('trace-1');
    expect(headers['openai-organization']).toBe('kept');
    expect(headers.accept).toBe('application/json');
    expect(headers.host).toBe(new URL(proxy.url).host);
    expect(headers).toMatchObject({
      'x-forwarded-host': 'aiplane.example.org:8001',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-proto': 'http',
    });
    // Root /v1 is outside the prefix: no X-Forwarded-Prefix.
    expect(headers['x-forwarded-prefix']).toBeUndefined();
  });

  it('mints a request id when the client sends none (or an unusable one) and sends no authorization without a token', async () => {
    const bare = new PassThroughDispatcher({
      ...options,
      upstream: { ...options.upstream, token: undefined },
    });
    const server = http.createServer(() => undefined);
    bare.install(server);
    const url = await listen(server);
    try {
      const res = await fetch(`${url}/api/v1/vllm/7/models`, {
        headers: { authorization: 'Bearer sk-x', 'x-request-id': 'bad id with spaces' },
      });
      const id = res.headers.get('x-request-id');
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(proxy.seen[0]?.headers['x-request-id']).toBe(id);
      expect(proxy.seen[0]?.headers.authorization).toBeUndefined();
      expect(proxy.seen[0]?.headers['x-forwarded-prefix']).toBe('/api/v1');
    } finally {
      await close(server);
    }
  });

  it('passes each chunk of an event stream on as it arrives, headers first', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    proxy.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', [WORKLOAD_TIME_HEADER]: '0.5' });
      res.write('data: {"n":1}\n\n');
      void held.then(() => {
        res.write('data: {"n":2}\n\n');
        res.end('data: [DONE]\n\n');
      });
    };
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model":"m","stream":true}',
    });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    const decoder = new TextDecoder();
    // The first event came through while the proxy still held the second back.
    expect(decoder.decode((await reader.read()).value)).toBe('data: {"n":1}\n\n');
    release();
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      rest += decoder.decode(chunk.value);
    }
    expect(rest).toBe('data: {"n":2}\n\ndata: [DONE]\n\n');
  });

  it('destroys the upstream request when the client disconnects mid-stream', async () => {
    proxy.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"n":1}\n\n');
    };
    const controller = new AbortController();
    const res = await fetch(`${base}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model":"m","stream":true}',
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    const deadline = Date.now() + 2_000;
    while (proxy.aborted === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(proxy.aborted).toBe(1);
  });

  it('ends an event stream that breaks off with one error event and a clean end', async () => {
    proxy.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"n":1}\n\n');
      setTimeout(() => res.socket?.destroy(), 20);
    };
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model":"m","stream":true}',
    });
    const text = await res.text();
    const events = text.split('\n\n').filter(Boolean);
    expect(events[0]).toBe('data: {"n":1}');
    expect(events).toHaveLength(2);
    const error = JSON.parse((events[1] ?? '').slice('data: '.length)) as { error: Record<string, string> };
    expect(error.error).toMatchObject({
      message: expect.stringMatching(/data-plane proxy.*broke off/) as unknown,
      type: 'server_error',
      code: 'upstream_disconnected',
    });
  });

  it('cuts a non-stream answer that breaks off, so the client sees a truncation, not a whole body', async () => {
    proxy.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"partial":');
      setTimeout(() => res.socket?.destroy(), 20);
    };
    await expect(fetch(`${base}/api/v1/vllm/7/models`).then((res) => res.text())).rejects.toThrow();
  });

  it('refuses a body whose Content-Length is over the limit with 413, forwarding nothing', async () => {
    const res = await fetch(`${base}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'x'.repeat(1024 * 1024 + 1),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({
      error: {
        message: 'Request body is larger than the 1048576 byte limit',
        type: 'invalid_request_error',
        code: 'request_too_large',
      },
    });
    expect(res.headers.get(OVERHEAD_HEADER)).toMatch(/^\d+\.\d$/);
    expect(proxy.seen).toHaveLength(0);
  });

  it('refuses a chunked body that grows over the limit with 413, aborting what was sent on', async () => {
    let started = 0;
    proxy.onRequest = () => {
      started += 1;
    };
    const status = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${base}/api/v1/vllm/7/prompt`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() });
        });
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(256 * 1024, 'a');
      for (let i = 0; i < 5; i += 1) req.write(chunk);
      req.end();
    });
    expect(status.status).toBe(413);
    expect(JSON.parse(status.body)).toMatchObject({
      success: false,
      statusCode: 413,
      error: 'Payload Too Large',
      message: 'Request body is larger than the 1048576 byte limit',
    });
    const deadline = Date.now() + 2_000;
    while (proxy.aborted < started && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    // Whatever part of it reached the proxy was aborted there, and never arrived whole.
    expect(proxy.aborted).toBe(started);
    expect(proxy.seen).toHaveLength(0);
  });

  it('lets a vector upsert through up to its 32 MiB limit', async () => {
    const body = `{"points":"${'a'.repeat(2 * 1024 * 1024)}"}`;
    const res = await fetch(`${base}/api/v1/vector-db/9/collections/c/points`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(200);
    expect(proxy.seen[0]?.body.length).toBe(body.length);
    expect(VECTOR_BODY_LIMIT).toBeGreaterThan(body.length);
  });

  it('answers a malformed service id with 400 before anything is forwarded, in the route’s shape', async () => {
    const openai = await fetch(`${base}/api/v1/vllm/..%2Fx/v1/models`);
    expect(openai.status).toBe(400);
    expect(await openai.json()).toMatchObject({
      error: { code: 'invalid_service_id', type: 'invalid_request_error' },
    });
    const plain = await fetch(`${base}/api/v1/vector-db/abc/qdrant/collections`);
    expect(plain.status).toBe(400);
    expect(await plain.json()).toMatchObject({
      success: false,
      statusCode: 400,
      error: 'Bad Request',
      message: expect.stringMatching(/is not a service id/) as unknown,
      request_id: expect.any(String) as unknown,
    });
    expect(proxy.seen).toHaveLength(0);
  });

  it('sets the overhead to its own time to headers minus the workload’s', async () => {
    proxy.handler = (_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json', [WORKLOAD_TIME_HEADER]: '80.0' }).end('{}');
      }, 100);
    };
    const started = performance.now();
    const res = await fetch(`${base}/v1/models`);
    const total = performance.now() - started;
    const overhead = Number(res.headers.get(OVERHEAD_HEADER));
    expect(res.headers.get(WORKLOAD_TIME_HEADER)).toBe('80.0');
    // At least the 20 ms the fake spent outside its "workload", less than the whole exchange minus 80.
    expect(overhead).toBeGreaterThanOrEqual(19);
    expect(overhead).toBeLessThan(total - 79);
  });

  it('computes overhead as total − workload, the total alone without one, one decimal, never negative', () => {
    expect(overheadMs(12.34, '10.0')).toBeCloseTo(2.34);
    expect(overheadMs(12.34, undefined)).toBe(12.34);
    expect(overheadMs(12.34, 'junk')).toBe(12.34);
    expect(formatMs(2.34)).toBe('2.3');
    expect(formatMs(-0.4)).toBe('0.0');
  });
});

describe('PassThroughDispatcher when the proxy cannot be reached', () => {
  const servers: http.Server[] = [];

  afterAll(async () => {
    await Promise.all(servers.map(close));
  });

  async function hopTo(baseUrl: string, extra: Partial<PassThroughOptions> = {}): Promise<string> {
    const server = http.createServer(() => undefined);
    new PassThroughDispatcher({
      hop: 'orchestrator',
      upstream: {
        name: 'data-plane proxy',
        baseUrl,
        dispatcher: passThroughPool(baseUrl),
        token: TOKEN,
        timeoutMs: 300,
      },
      ...extra,
    }).install(server);
    servers.push(server);
    return listen(server);
  }

  it('answers 503 naming the hop, in OpenAI’s shape on /v1', async () => {
    const closed = http.createServer();
    const url = await listen(closed);
    await close(closed);
    const base = await hopTo(url);
    const res = await fetch(`${base}/v1/models`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      error: {
        message: expect.stringMatching(/^The data-plane proxy is unreachable: .*ECONNREFUSED/) as unknown,
        type: 'server_error',
        code: 'upstream_unavailable',
      },
    });
    expect(res.headers.get(OVERHEAD_HEADER)).toMatch(/^\d+\.\d$/);
  });

  it('lets the transport explain a failure (an SSH tunnel that dropped)', async () => {
    const closed = http.createServer();
    const url = await listen(closed);
    await close(closed);
    const base = await hopTo(url, {
      transportEpoch: () => 3,
      explainFailure: (_error, epoch) =>
        `SSH tunnel to login:22 dropped during the request (epoch ${String(epoch)})`,
    });
    const res = await fetch(`${base}/api/services/vllm/7/prompt`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({
      success: false,
      statusCode: 503,
      message:
        'The data-plane proxy is unreachable: SSH tunnel to login:22 dropped during the request (epoch 3)',
    });
  });

  it('answers 504 when the proxy does not start answering in time', async () => {
    const silent = http.createServer(() => undefined);
    servers.push(silent);
    const base = await hopTo(await listen(silent));
    const res = await fetch(`${base}/api/services/vector-db/9/qdrant/collections`);
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({
      statusCode: 504,
      message: 'The data-plane proxy did not answer within 300 ms',
    });
  });

  it('answers 401 in the route’s shape when the hop refuses the request, forwarding nothing', async () => {
    const base = await hopTo('http://127.0.0.1:9', {
      refuse: (req) => (req.headers.authorization === 'Bearer ok' ? undefined : 'A valid token is required'),
    });
    const res = await fetch(`${base}/v1/chat/completions`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      error: { message: 'A valid token is required', type: 'authentication_error', code: 'invalid_api_key' },
    });
  });
});

describe('PassThroughDispatcher over a Unix socket', () => {
  it('reuses its upstream connections: 1,000 requests 16 at a time open at most 16', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pass-through-'));
    const socketPath = path.join(dir, 'proxy.sock');
    let connections = 0;
    const proxy = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    proxy.on('connection', () => {
      connections += 1;
    });
    await new Promise<void>((resolve) => proxy.listen(socketPath, resolve));
    const upstreamPool = passThroughPool(SOCKET_BASE_URL, { socketPath });
    const hop = http.createServer((_req, res) => {
      res.writeHead(404).end();
    });
    new PassThroughDispatcher({
      hop: 'gateway',
      upstream: {
        name: 'data-plane proxy',
        baseUrl: SOCKET_BASE_URL,
        dispatcher: upstreamPool,
        token: TOKEN,
        timeoutMs: 5_000,
      },
    }).install(hop);
    const base = await listen(hop);
    const clientAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const post = (): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = http.request(`${base}/v1/chat/completions`, {
          method: 'POST',
          agent: clientAgent,
          headers: { 'content-type': 'application/json' },
        });
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => {
            resolve(res.statusCode ?? 0);
          });
        });
        req.on('error', reject);
        req.end('{"model":"m","messages":[]}');
      });
    try {
      const statuses: number[] = [];
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          for (let i = 0; i < 1_000 / 16; i += 1) statuses.push(await post());
        }),
      );
      expect(statuses.length).toBeGreaterThanOrEqual(992);
      expect(statuses.every((status) => status === 200)).toBe(true);
      expect(connections).toBeLessThanOrEqual(16);
    } finally {
      clientAgent.destroy();
      await upstreamPool.destroy();
      await close(hop);
      await close(proxy);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
