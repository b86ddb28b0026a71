import * as http from 'node:http';
import { DOCUMENT_CLIENT_CREATE_REQUESTS } from '@aiplane/contracts';
import { closedPort, echoHandler, StandInOrchestrator } from './testing/stand-in-orchestrator';
import { startGateway, type RunningGateway } from './testing/gateway-harness';

const TOKEN = 'test-token-0123456789';

interface Route {
  method: string;
  path: string;
  body?: unknown;
  upstreamMethod: string;
  upstreamPath: string;
  /** The data plane goes straight to the proxy (at the orchestrator's paths); the rest to the orchestrator. */
  via: 'orchestrator' | 'proxy';
}

const CREATE = {
  recipe_name: 'inference/vllm-replicas',
  config: { resources: { gpu: '4' }, gpu_per_replica: 2 },
};
const CANCEL = { status: 'cancelled' };
const PROMPT = { prompt: 'Tell me a joke about programming', max_tokens: 100 };
const COLLECTION = { vector_size: 384, distance: 'Cosine' };
const POINTS = {
  points: [
    { id: 1, vector: [0.1, 0.2, 0.3, 0.4], payload: { text: 'First document' } },
    { id: 'doc-2', vector: [0.4, 0.5, 0.6, 0.7] },
  ],
};
const SEARCH = { query_vector: [0.1, 0.2, 0.3, 0.4], limit: 5 };

const same = (method: string, path: string, body?: unknown): Route => ({
  method,
  path: `/api/v1${path}`,
  body,
  upstreamMethod: method,
  upstreamPath: `/api${path}`,
  via: 'orchestrator',
});
const moved = (
  method: string,
  path: string,
  upstreamMethod: string,
  upstreamPath: string,
  body?: unknown,
): Route => ({
  method,
  path: `/api/v1${path}`,
  body,
  upstreamMethod,
  upstreamPath: `/api${upstreamPath}`,
  via: 'orchestrator',
});
const proxied = (route: Route): Route => ({ ...route, via: 'proxy' });
/** A pass-through path outside the route table: `path` on the gateway, `upstreamPath` on the proxy. */
const passed = (method: string, path: string, upstreamPath: string, body?: unknown): Route => ({
  method,
  path,
  body,
  upstreamMethod: method,
  upstreamPath,
  via: 'proxy',
});
const CHAT = { model: 'Qwen/Qwen2.5-7B-Instruct', messages: [{ role: 'user', content: 'hi' }] };
const QDRANT_POINTS = { points: [{ id: 1, vector: [0.1, 0.2] }] };

const ROUTES: Route[] = [
  moved('POST', '/services', 'POST', '/services/start', CREATE),
  same('GET', '/services'),
  same('GET', '/services/targets'),
  same('GET', '/services/3652098'),
  same('GET', '/services/sg-3652098'),
  same('GET', '/services/3652098/status'),
  same('POST', '/services/3652098/status', CANCEL),
  moved('DELETE', '/services/3652098', 'POST', '/services/stop/3652098'),
  same('GET', '/services/3652098/logs'),
  same('GET', '/services/3652098/logs?lines=50'),
  proxied(same('GET', '/services/3652098/metrics')),
  same('GET', '/service-groups'),
  same('GET', '/service-groups/3652098'),
  same('GET', '/service-groups/sg-3652098/status'),
  same('POST', '/service-groups/3652098/status', CANCEL),
  same('DELETE', '/service-groups/3652098'),
  moved('GET', '/vllm/services', 'GET', '/services/vllm/services'),
  moved('GET', '/vllm/available-models', 'GET', '/services/vllm/available-models'),
  moved(
    'GET',
    '/vllm/search-models?query=qwen&limit=10&architecture=Qwen2ForCausalLM&sort_by=downloads',
    'GET',
    '/services/vllm/search-models?query=qwen&limit=10&architecture=Qwen2ForCausalLM&sort_by=downloads',
  ),
  moved(
    'GET',
    '/vllm/model-info/Qwen/Qwen2.5-7B-Instruct',
    'GET',
    '/services/vllm/model-info/Qwen/Qwen2.5-7B-Instruct',
  ),
  proxied(moved('GET', '/vllm/3652098/models', 'GET', '/services/vllm/3652098/models')),
  proxied(moved('POST', '/vllm/3652098/prompt', 'POST', '/services/vllm/3652098/prompt', PROMPT)),
  proxied(moved('GET', '/vllm/3652098/metrics', 'GET', '/services/vllm/3652098/metrics')),
  moved('GET', '/vector-db/services', 'GET', '/services/vector-db/services'),
  proxied(moved('GET', '/vector-db/3642875/collections', 'GET', '/services/vector-db/3642875/collections')),
  proxied(
    moved(
      'GET',
      '/vector-db/3642875/collections/my_documents',
      'GET',
      '/services/vector-db/3642875/collections/my_documents',
    ),
  ),
  proxied(
    moved(
      'PUT',
      '/vector-db/3642875/collections/my_documents',
      'PUT',
      '/services/vector-db/3642875/collections/my_documents',
      COLLECTION,
    ),
  ),
  proxied(
    moved(
      'DELETE',
      '/vector-db/3642875/collections/my_documents',
      'DELETE',
      '/services/vector-db/3642875/collections/my_documents',
    ),
  ),
  proxied(
    moved(
      'PUT',
      '/vector-db/3642875/collections/my_documents/points',
      'PUT',
      '/services/vector-db/3642875/collections/my_documents/points',
      POINTS,
    ),
  ),
  proxied(
    moved(
      'POST',
      '/vector-db/3642875/collections/my_documents/points/search',
      'POST',
      '/services/vector-db/3642875/collections/my_documents/points/search',
      SEARCH,
    ),
  ),
  proxied(moved('GET', '/vector-db/3642875/metrics', 'GET', '/services/vector-db/3642875/metrics')),
  same('GET', '/recipes'),
  same('GET', '/recipes/vllm-single-node'),
  same('GET', '/recipes/inference/vllm-single-node'),
  passed('GET', '/v1/models', '/v1/models'),
  passed('POST', '/v1/chat/completions', '/v1/chat/completions', CHAT),
  passed('POST', '/v1/completions', '/v1/completions', { model: 'm', prompt: 'hi' }),
  passed('POST', '/v1/embeddings', '/v1/embeddings', { model: 'm', input: 'hi' }),
  passed('GET', '/api/v1/vllm/3652098/v1/models', '/api/services/vllm/3652098/v1/models'),
  passed(
    'POST',
    '/api/v1/vllm/sg-3652098/v1/chat/completions',
    '/api/services/vllm/sg-3652098/v1/chat/completions',
    CHAT,
  ),
  passed(
    'PUT',
    '/api/v1/vector-db/3642875/qdrant/collections/docs/points?wait=true',
    '/api/services/vector-db/3642875/qdrant/collections/docs/points?wait=true',
    QDRANT_POINTS,
  ),
];

function send(
  gateway: RunningGateway,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  return fetch(`${gateway.url}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** node:http, because fetch will not send a Host header of the caller's choosing. */
function rawGet(
  gateway: RunningGateway,
  path: string,
  host: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${gateway.url}${path}`, { headers: { host } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.on('error', reject);
  });
}

describe('gateway → orchestrator and proxy over plain HTTP', () => {
  const orchestrator = new StandInOrchestrator();
  // The same echoing stand-in, in the proxy's place: it serves the orchestrator's paths.
  const proxy = new StandInOrchestrator();
  let gateway: RunningGateway;

  beforeAll(async () => {
    await orchestrator.start();
    await proxy.start();
    gateway = await startGateway({
      ORCHESTRATOR_URL: orchestrator.url,
      ORCHESTRATOR_TOKEN: TOKEN,
      PROXY_URL: proxy.url,
      UPSTREAM_TIMEOUT_MS: '1000',
      GATEWAY_ALLOWED_HOSTS: 'aiplane.example.org',
    });
  });

  afterAll(async () => {
    await gateway.close();
    await orchestrator.close();
    await proxy.close();
  });

  beforeEach(() => {
    orchestrator.reset();
    proxy.reset();
  });

  it.each(ROUTES.map((route) => [`${route.method} ${route.path}`, route] as const))(
    '%s reaches the right upstream route',
    async (_name, route) => {
      const res = await send(gateway, route.method, route.path, route.body, {
        authorization: 'Bearer sk-whatever-the-sdk-sends',
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-upstream')).toBe('stand-in');
      expect(res.headers.get('x-aiplane-overhead-ms')).toMatch(/^\d+\.\d$/);
      const [target, other] = route.via === 'proxy' ? [proxy, orchestrator] : [orchestrator, proxy];
      expect(other.forwarded()).toHaveLength(0);
      const [upstream, ...rest] = target.forwarded();
      expect(rest).toHaveLength(0);
      expect(upstream?.method).toBe(route.upstreamMethod);
      expect(upstream?.url).toBe(route.upstreamPath);
      expect(upstream?.headers.authorization).toBe(`Bearer ${TOKEN}`);
      if (route.body === undefined) {
        expect(upstream?.body).toBe('');
      } else {
        expect(upstream?.headers['content-type']).toBe('application/json');
        expect(JSON.parse(upstream?.body ?? '')).toEqual(route.body);
      }
      expect(await res.json()).toEqual({
        method: route.upstreamMethod,
        url: route.upstreamPath,
        body: route.body ?? null,
      });
    },
  );

  it('streams status, headers and body back unchanged', async () => {
    let releaseRest: () => void = () => undefined;
    const rest = new Promise<void>((resolve) => {
      releaseRest = resolve;
    });
    proxy.handler = async (_req, res) => {
      res.writeHead(202, { 'content-type': 'text/plain; version=0.0.4', 'x-custom': 'kept' });
      res.write('first chunk\n');
      await rest;
      res.end('second chunk\n');
    };
    const res = await send(gateway, 'GET', '/api/v1/services/3652098/metrics');
    expect(res.status).toBe(202);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4');
    expect(res.headers.get('x-custom')).toBe('kept');
    const reader = res.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    const first = await reader.read();
    // The first chunk arrived while the upstream was still holding back the rest: nothing buffered it.
    expect(new TextDecoder().decode(first.value)).toBe('first chunk\n');
    releaseRest();
    let text = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      text += new TextDecoder().decode(chunk.value);
    }
    expect(text).toBe('second chunk\n');
  });

  it('passes upstream errors through with their status and body', async () => {
    proxy.handler = (_req, res) => {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end('{"success":false,"error":"Not found","message":"Service 42 not found"}');
    };
    const res = await send(gateway, 'POST', '/api/v1/vllm/42/prompt', { prompt: 'hi' });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ success: false, error: 'Not found', message: 'Service 42 not found' });
  });

  it("forwards the caller's request id and echoes it, never the caller's credentials", async () => {
    const res = await send(gateway, 'GET', '/api/v1/services', undefined, {
      'x-request-id': 'trace-abc.123',
      authorization: 'Bearer someone-elses',
      cookie: 'a=b',
    });
    expect(res.headers.get('x-request-id')).toBe('trace-abc.123');
    const [upstream] = orchestrator.forwarded();
    expect(upstream?.headers['x-request-id']).toBe('trace-abc.123');
    expect(upstream?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(upstream?.headers.cookie).toBeUndefined();
  });

  it('tells the orchestrator how the client reached the gateway on the targets route, whatever the client claims', async () => {
    const res = await send(gateway, 'GET', '/api/v1/services/targets', undefined, {
      'x-forwarded-host': 'elsewhere:9999',
      'x-forwarded-proto': 'https',
      'x-forwarded-prefix': '/other',
    });
    expect(res.status).toBe(200);
    const [upstream] = orchestrator.forwarded();
    expect(upstream?.url).toBe('/api/services/targets');
    expect(upstream?.headers).toMatchObject({
      'x-forwarded-host': new URL(gateway.url).host,
      'x-forwarded-proto': 'http',
      'x-forwarded-prefix': '/api/v1',
      authorization: `Bearer ${TOKEN}`,
    });
  });

  it('passes the Host the client used, so targets name the gateway as the client sees it', async () => {
    const answer = await rawGet(gateway, '/api/v1/services/targets', 'aiplane.example.org:8001');
    expect(answer.status).toBe(200);
    expect(orchestrator.forwarded()[0]?.headers['x-forwarded-host']).toBe('aiplane.example.org:8001');
  });

  it('sends no X-Forwarded headers on the other routes, not even the ones the client sent', async () => {
    await send(gateway, 'GET', '/api/v1/services', undefined, { 'x-forwarded-host': 'elsewhere:9999' });
    const [upstream] = orchestrator.forwarded();
    expect(upstream?.headers['x-forwarded-host']).toBeUndefined();
    expect(upstream?.headers['x-forwarded-prefix']).toBeUndefined();
  });

  it.each(['bad host', 'evil"}]', 'host:99999', 'a,b:1'])(
    // The gate refuses a Host it does not answer before any route (DNS rebinding, issue 10).
    'answers 421 to the targets route for Host %p without calling the orchestrator',
    async (host) => {
      const answer = await rawGet(gateway, '/api/v1/services/targets', host);
      expect(answer.status).toBe(421);
      expect(JSON.parse(answer.text)).toMatchObject({
        statusCode: 421,
        message: expect.stringMatching(/host/i) as unknown,
      });
      expect(orchestrator.forwarded()).toHaveLength(0);
    },
  );

  it('forwards Idempotency-Key, so a client may retry a create without risking a second job', async () => {
    await send(gateway, 'POST', '/api/v1/services', CREATE, { 'idempotency-key': 'retry-safe-1' });
    expect(orchestrator.forwarded()[0]?.headers['idempotency-key']).toBe('retry-safe-1');
  });

  it.each(Object.entries(DOCUMENT_CLIENT_CREATE_REQUESTS))(
    "forwards the document's clients' %s create, flat config shortcuts and all, as sent",
    async (_name, { body }) => {
      const res = await send(gateway, 'POST', '/api/v1/services', body);
      expect(res.status).toBe(200);
      expect(JSON.parse(orchestrator.forwarded()[0]?.body ?? '')).toEqual(body);
    },
  );

  it('carries a request id on POST bodies too', async () => {
    const res = await send(gateway, 'POST', '/api/v1/services', CREATE, { 'x-request-id': 'post-id-1' });
    expect(res.headers.get('x-request-id')).toBe('post-id-1');
    expect(orchestrator.forwarded()[0]?.headers['x-request-id']).toBe('post-id-1');
  });

  it('makes up a request id when the caller sends none', async () => {
    const res = await send(gateway, 'GET', '/api/v1/recipes');
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(orchestrator.forwarded()[0]?.headers['x-request-id']).toBe(id);
  });

  it.each([
    ['/api/v1/services/3652098', '/api/v1/services/3652098/status'],
    ['/api/v1/service-groups/sg-3652098', '/api/v1/service-groups/sg-3652098/status'],
  ])('DELETE %s answers with Deprecation and a Link to its successor', async (path, successor) => {
    const res = await send(gateway, 'DELETE', path);
    expect(res.status).toBe(200);
    expect(res.headers.get('deprecation')).toBe('true');
    expect(res.headers.get('link')).toBe(`<${successor}>; rel="successor-version"`);
  });

  it('forwards only the documented query parameters, re-encoded', async () => {
    await send(gateway, 'GET', '/api/v1/vllm/search-models?query=qwen%20coder%262&limit=5&debug=1&token=x');
    await send(gateway, 'GET', '/api/v1/services/3652098/logs?lines=20&follow=true');
    expect(orchestrator.forwarded().map((request) => request.url)).toEqual([
      '/api/services/vllm/search-models?query=qwen+coder%262&limit=5',
      '/api/services/3652098/logs?lines=20&follow=true',
    ]);
  });

  it.each([
    ['GET', '/api/v1/services/abc'],
    ['GET', '/api/v1/services/1234567890123'],
    ['GET', '/api/v1/services/sg-'],
    ['GET', '/api/v1/service-groups/..%2Fservices'],
    ['GET', '/api/v1/recipes/inference%2Fvllm'],
    ['GET', '/api/v1/vllm/model-info/Qwen/a%3Fb'],
    ['GET', '/api/v1/services/3652098/logs?lines=abc'],
    ['GET', '/api/v1/services/3652098/logs?lines=0'],
    ['GET', '/api/v1/services/3652098/logs?follow=yes'],
    ['GET', '/api/v1/services/3652098/logs?lines=1&lines=2'],
    ['GET', '/api/v1/vllm/search-models?limit=1000'],
    ['GET', '/api/v1/vllm/search-models?sort_by=a%20b'],
  ])('%s %s → 400 without calling the orchestrator', async (method, path) => {
    const res = await send(gateway, method, path, method === 'POST' ? PROMPT : undefined);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { statusCode: number; error: string; message: string };
    expect(body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(body.message).toMatch(/must be/);
    expect(orchestrator.forwarded()).toHaveLength(0);
  });

  it.each([
    ['POST', '/api/v1/vllm/12%2F..%2F34/prompt'],
    ['GET', '/api/v1/vector-db/x/qdrant/collections'],
  ])('%s %s → 400 in the data-plane envelope, calling neither upstream', async (method, path) => {
    const res = await send(gateway, method, path, method === 'POST' ? PROMPT : undefined);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      success: false,
      statusCode: 400,
      error: 'Bad Request',
      message: expect.stringMatching(/is not a service id/) as unknown,
    });
    expect(orchestrator.forwarded()).toHaveLength(0);
    expect(proxy.forwarded()).toHaveLength(0);
  });

  it('answers a malformed id on a per-service /v1 path in OpenAI’s shape', async () => {
    const res = await send(gateway, 'POST', '/api/v1/vllm/abc/v1/chat/completions', CHAT);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: { type: 'invalid_request_error', code: 'invalid_service_id' },
    });
    expect(proxy.forwarded()).toHaveLength(0);
  });

  it.each([
    ['POST', '/api/v1/services', { ...CREATE, extra: true }, /extra/],
    ['POST', '/api/v1/services', { recipe_name: 'x', config: { resources: { gpus: 4 } } }, /gpus/],
    ['POST', '/api/v1/services', { recipe_name: 'x', config: { gpus: 4 } }, /^config\.gpus/],
    [
      'POST',
      '/api/v1/services',
      { recipe_name: 'x', config: { memory: '16 GB' } },
      /^config\.memory must look like 64G/,
    ],
    ['POST', '/api/v1/services', { recipe_name: 'x', config: { nodes: 'one' } }, /^config\.nodes must be/],
    ['POST', '/api/v1/services/3652098/status', { status: 'running' }, /cancelled/],
  ])('%s %s with a bad body → 400 naming the field', async (method, path, body, field) => {
    const res = await send(gateway, method, path, body);
    expect(res.status).toBe(400);
    const answer = (await res.json()) as { statusCode: number; message: string };
    expect(answer.statusCode).toBe(400);
    expect(answer.message).toMatch(field);
    expect(orchestrator.forwarded()).toHaveLength(0);
  });

  // The proxy is the one hop that reads a data-plane body (CONTRACT "Parsing"): the gateway streams
  // it on, byte for byte, whatever it holds, and relays the proxy's verdict.
  it.each([
    ['POST', '/api/v1/vllm/3652098/prompt', { prompt: 'hi', stream_everything: true }],
    ['POST', '/api/v1/vllm/3652098/prompt', { max_tokens: 5 }],
    ['PUT', '/api/v1/vector-db/1/collections/c', { vector_size: 0 }],
    ['PUT', '/api/v1/vector-db/1/collections/c', { vector_size: 4, distance: 'Hamming' }],
    ['PUT', '/api/v1/vector-db/1/collections/c/points', { points: [] }],
    ['PUT', '/api/v1/vector-db/1/collections/c/points', { points: [{ id: -1, vector: [1] }] }],
    ['PUT', '/api/v1/vector-db/1/collections/c/points', { points: [{ id: 1, vector: ['a'] }] }],
    ['POST', '/api/v1/vector-db/1/collections/c/points/search', { query_vector: [1], limit: 0 }],
  ])('%s %s with a bad body goes to the proxy unparsed, which judges it', async (method, path, body) => {
    proxy.handler = (_req, res) => {
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end('{"success":false,"statusCode":400,"error":"Bad Request","message":"from the proxy"}');
    };
    const raw = `  ${JSON.stringify(body)}\n`;
    const res = await fetch(`${gateway.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: raw,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ message: 'from the proxy' });
    expect(proxy.forwarded()[0]?.body).toBe(raw);
    expect(orchestrator.forwarded()).toHaveLength(0);
  });

  it('passes a collection name on for the proxy to check', async () => {
    await send(gateway, 'GET', '/api/v1/vector-db/3642875/collections/a%20b');
    expect(proxy.forwarded()[0]?.url).toBe('/api/services/vector-db/3642875/collections/a%20b');
  });

  it('puts the overhead header on control-plane answers and the gateway’s own routes too', async () => {
    for (const path of ['/api/v1/services', '/health', '/api/v1/nowhere']) {
      const res = await fetch(`${gateway.url}${path}`);
      expect(res.headers.get('x-aiplane-overhead-ms')).toMatch(/^\d+\.\d$/);
    }
  });

  it('subtracts the workload’s time the proxy reports from its own', async () => {
    proxy.handler = (_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json', 'x-aiplane-workload-ms': '60.0' }).end('{}');
      }, 80);
    };
    const res = await send(gateway, 'GET', '/v1/models');
    expect(res.headers.get('x-aiplane-workload-ms')).toBe('60.0');
    const overhead = Number(res.headers.get('x-aiplane-overhead-ms'));
    expect(overhead).toBeGreaterThanOrEqual(19);
    expect(overhead).toBeLessThan(60);
  });

  it('accepts string and UUID point ids and the optional search fields', async () => {
    const body = {
      query_vector: [0.1, 0.2],
      limit: 3,
      with_payload: false,
      filter: { must: [{ key: 'text', match: { value: 'x' } }] },
    };
    const res = await send(gateway, 'POST', '/api/v1/vector-db/1/collections/c/points/search', body);
    expect(res.status).toBe(200);
    expect(JSON.parse(proxy.forwarded()[0]?.body ?? '')).toEqual(body);
  });

  it('/health is healthy and /ready 200 while the orchestrator answers', async () => {
    const health = await fetch(`${gateway.url}/health`);
    expect(health.status).toBe(200);
    const body = (await health.json()) as Record<string, Record<string, unknown>>;
    expect(body).toMatchObject({
      status: 'healthy',
      orchestrator: { reachable: true },
      transport: { mode: 'http', target: orchestrator.url },
    });
    expect(typeof body.orchestrator?.latency_ms).toBe('number');
    const probe = orchestrator.requests.find((request) => request.url === '/api/health');
    expect(probe?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect((await fetch(`${gateway.url}/ready`)).status).toBe(200);
  });

  it('serves Swagger UI at /docs and the document at /docs-json, outside /api/v1', async () => {
    expect((await fetch(`${gateway.url}/docs`)).status).toBe(200);
    const doc = (await (await fetch(`${gateway.url}/docs-json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/health', '/api/v1/services']));
    expect((await fetch(`${gateway.url}/api/v1/health`)).status).toBe(404);
  });
});

describe('gateway when the orchestrator is down', () => {
  let gateway: RunningGateway;

  beforeAll(async () => {
    gateway = await startGateway({
      ORCHESTRATOR_URL: `http://127.0.0.1:${await closedPort()}`,
      PROXY_URL: `http://127.0.0.1:${await closedPort()}`,
      UPSTREAM_TIMEOUT_MS: '2000',
    });
  });

  afterAll(async () => {
    await gateway.close();
  });

  it('answers 503 {statusCode, error, message} at once, never hanging', async () => {
    const started = Date.now();
    const res = await send(gateway, 'POST', '/api/v1/services', CREATE);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({
      statusCode: 503,
      error: 'Service Unavailable',
      message: expect.stringMatching(/orchestrator is unreachable.*ECONNREFUSED/) as unknown,
    });
  });

  it('answers a data-plane request 503 naming the proxy, in OpenAI’s shape on /v1', async () => {
    const res = await send(gateway, 'POST', '/v1/chat/completions', CHAT);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      error: {
        message: expect.stringMatching(/^The data-plane proxy is unreachable: .*ECONNREFUSED/) as unknown,
        type: 'server_error',
        code: 'upstream_unavailable',
      },
    });
  });

  it('/health says starting with the reason (the stack was never ready), /ready says 503', async () => {
    const health = await fetch(`${gateway.url}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({
      status: 'starting',
      message: expect.stringMatching(/ECONNREFUSED/) as unknown,
      orchestrator: {
        reachable: false,
        latency_ms: null,
        last_error: expect.stringMatching(/ECONNREFUSED/) as unknown,
      },
    });
    const ready = await fetch(`${gateway.url}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
  });
});

describe('gateway /health and /ready while the stack starts, and after', () => {
  const orchestrator = new StandInOrchestrator();
  let gateway: RunningGateway;
  // What the stand-in's /api/ready and /api/health answer; a test flips them.
  let ready = false;
  let alive = true;

  beforeAll(async () => {
    await orchestrator.start();
    orchestrator.handler = (req, res, body) => {
      const refuse = (message: string): void => {
        res
          .writeHead(503, { 'content-type': 'application/json' })
          .end(JSON.stringify({ statusCode: 503, error: 'Service Unavailable', message }));
      };
      if (req.url === '/api/ready' && !ready) {
        refuse('No slurm-worker is consuming the scheduler queue: a create now could not be submitted');
      } else if (req.url === '/api/health' && !alive) refuse('Redis is unreachable: connect ECONNREFUSED');
      else void echoHandler(req, res, body);
    };
    gateway = await startGateway({ ORCHESTRATOR_URL: orchestrator.url, ORCHESTRATOR_TOKEN: TOKEN });
  });

  afterAll(async () => {
    await gateway.close();
    await orchestrator.close();
  });

  const get = async (path: string) => {
    const res = await fetch(`${gateway.url}${path}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('says starting (503) until the stack is ready once, then healthy, and never starting again', async () => {
    // The orchestrator answers, but no worker is up: a create would not be accepted yet.
    expect(await get('/health')).toMatchObject({
      status: 503,
      body: {
        status: 'starting',
        message: expect.stringMatching(/^No slurm-worker/) as unknown,
        orchestrator: { reachable: true, latency_ms: expect.any(Number) as unknown },
      },
    });
    expect(await get('/ready')).toMatchObject({
      status: 503,
      body: { statusCode: 503, message: expect.stringMatching(/^Not ready: No slurm-worker/) as unknown },
    });
    // The readiness check carries the token like every other call.
    const asked = orchestrator.requests.find((request) => request.url === '/api/ready');
    expect(asked?.headers.authorization).toBe(`Bearer ${TOKEN}`);

    ready = true;
    expect(await get('/ready')).toEqual({ status: 200, body: { status: 'ready' } });
    expect(await get('/health')).toMatchObject({
      status: 200,
      body: { status: 'healthy', orchestrator: { reachable: true } },
    });

    // Once ready, /health no longer waits on readiness: a worker gone is /ready's business.
    ready = false;
    expect((await get('/health')).body.status).toBe('healthy');
    expect((await get('/ready')).status).toBe(503);
    alive = false;
    expect(await get('/health')).toMatchObject({
      status: 200,
      body: { status: 'degraded', orchestrator: { reachable: false } },
    });
    alive = true;
    ready = true;
  });

  it('gets past starting on its own, without anyone calling /health', async () => {
    ready = true;
    const second = await startGateway({ ORCHESTRATOR_URL: orchestrator.url, ORCHESTRATOR_TOKEN: TOKEN });
    try {
      const deadline = Date.now() + 3_000;
      const asked = () => orchestrator.requests.filter((request) => request.url === '/api/ready').length;
      const before = asked();
      while (asked() === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      // Let the answer land, then /health must not need to ask again.
      await new Promise((r) => setTimeout(r, 100));
      const afterPoll = asked();
      expect(afterPoll).toBeGreaterThan(before);
      const health = await fetch(`${second.url}/health`);
      expect(health.status).toBe(200);
      expect(asked()).toBe(afterPoll);
    } finally {
      await second.close();
    }
  });
});

describe('gateway when the orchestrator accepts but never answers', () => {
  const orchestrator = new StandInOrchestrator();
  let gateway: RunningGateway;

  beforeAll(async () => {
    await orchestrator.start();
    orchestrator.handler = () => undefined;
    gateway = await startGateway({ ORCHESTRATOR_URL: orchestrator.url, UPSTREAM_TIMEOUT_MS: '500' });
  });

  afterAll(async () => {
    await gateway.close();
    await orchestrator.close();
  });

  it('gives up after UPSTREAM_TIMEOUT_MS with 504', async () => {
    const started = Date.now();
    const res = await send(gateway, 'GET', '/api/v1/services');
    const elapsed = Date.now() - started;
    expect(res.status).toBe(504);
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(2000);
    expect(await res.json()).toMatchObject({
      statusCode: 504,
      message: expect.stringMatching(/500 ms/) as unknown,
    });
  });

  it('/ready answers 503 within the probe timeout', async () => {
    const started = Date.now();
    const ready = await fetch(`${gateway.url}/ready`);
    expect(ready.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
