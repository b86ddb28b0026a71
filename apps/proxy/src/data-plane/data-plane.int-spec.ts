import { AsyncLocalStorage } from 'node:async_hooks';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as http from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Redis } from 'ioredis';
import { createRedis, ServiceRegistry, type StoredService } from '@aiplane/registry';
import { infraRedisUrl, storedService } from '@aiplane/testing';
import { createLogger } from '@aiplane/server-kit';
import { createProxyApp } from '../platform/proxy-app.factory';
import { loadProxyConfig } from '../proxy.config';

// Real Redis, real simulators, node:http fakes where a test needs a workload to misbehave (a cut
// stream, a refused connection) or to show what it received, and the real proxy app.
const REDIS_URL = infraRedisUrl();
const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const prefix = `int-proxy-dp-${process.pid}`;
const TOKEN = 'proxy-token-c2VjcmV0LXRva2Vu-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const QWEN = 'Qwen/Qwen2.5-0.5B-Instruct';
const KEYS = {
  qwen: 'qwen-key-Zm9vYmFyYmF6cXV4',
  gpt2: 'gpt2-key-cXV1eGJhemJhcmZvbw',
  fake: 'fake-key-YmFy',
  qdrant: 'qdrant-key-YmF6cXV4Zm9v',
};

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  return port;
}

async function waitUp(url: string, child: ChildProcess): Promise<ChildProcess> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    try {
      if ((await fetch(url)).ok) return child;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  child.kill('SIGTERM');
  throw new Error(`${url} did not come up`);
}

function startVllmSim(port: number, env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/apps/vllm-sim/src/main.js')], {
    env: { PATH: '/usr/bin:/bin', VLLM_PORT: String(port), VLLM_HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return waitUp(`http://127.0.0.1:${port}/health`, child);
}

async function startQdrantSim(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/apps/qdrant-sim/src/main.js')], {
    env: {
      PATH: '/usr/bin:/bin',
      QDRANT__SERVICE__API_KEY: KEYS.qdrant,
      QDRANT__SERVICE__HOST: '127.0.0.1',
      QDRANT__SERVICE__HTTP_PORT: String(port),
      QDRANT__SERVICE__GRPC_PORT: String(await freePort()),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return waitUp(`http://127.0.0.1:${port}/readyz`, child);
}

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * A workload that lists `models`, answers a POST with what it received, and on `stream: true`
 * writes SSE events every 20 ms: `cut` ends the connection after the first, otherwise it writes
 * until the client goes away (recorded in `aborted`).
 */
async function fakeWorkload(models: string[], mode: 'echo' | 'cut' | 'endless' = 'echo') {
  const received: Received[] = [];
  const state = { aborted: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (req.method === 'GET' && req.url === '/v1/models') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data: models.map((id) => ({ id, object: 'model' })) }));
        return;
      }
      if (mode === 'echo') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ object: 'echo', port: (server.address() as AddressInfo).port, url: req.url }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"choices":[{"delta":{"content":"first"}}]}\n\n');
      if (mode === 'cut') {
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      const timer = setInterval(() => res.write('data: {"choices":[{"delta":{"content":"more"}}]}\n\n'), 20);
      res.on('close', () => {
        clearInterval(timer);
        if (!res.writableEnded) state.aborted += 1;
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { server, endpoint, received, state };
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: () => Record<string, unknown>;
}

/** node:http rather than fetch: paths go out exactly as written (fetch would resolve `..`). */
function send(
  base: string,
  method: string,
  pathAndQuery: string,
  options: { headers?: http.OutgoingHttpHeaders; body?: string | Buffer } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const url = new URL(base);
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path: pathAndQuery,
        headers: { ...AUTH, ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json: () => JSON.parse(text) as Record<string, unknown>,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const JSON_HEADERS = { 'content-type': 'application/json' };

// Issue 11: a pending service's queue, as the worker's poll stores it.
const PENDING_QUEUE = {
  position: 2,
  reason: 'Resources',
  estimated_start: new Date(Date.now() + 600_000).toISOString(),
};

describe('proxy raw data plane (real Redis, real simulators)', () => {
  let app: NestExpressApplication;
  let base: string;
  let redis: Redis;
  let registry: ServiceRegistry;
  const children: ChildProcess[] = [];
  let qwenPort: number;
  let fakes: {
    embed: Awaited<ReturnType<typeof fakeWorkload>>;
    rr: Awaited<ReturnType<typeof fakeWorkload>>[];
    cut: Awaited<ReturnType<typeof fakeWorkload>>;
    endless: Awaited<ReturnType<typeof fakeWorkload>>;
  };

  const vllm = (id: string, endpoint: string | null, overrides: Partial<StoredService> = {}): StoredService =>
    storedService(id, { endpoint, api_key: KEYS.fake, ...overrides });

  beforeAll(async () => {
    redis = createRedis(REDIS_URL);
    registry = new ServiceRegistry(redis, prefix);
    qwenPort = await freePort();
    const gpt2Port = await freePort();
    const qdrantPort = await freePort();
    children.push(
      await startVllmSim(qwenPort, { VLLM_MODEL: QWEN, VLLM_API_KEY: KEYS.qwen, SIM_TOKEN_LATENCY_MS: '20' }),
      await startVllmSim(gpt2Port, { VLLM_MODEL: 'gpt2', VLLM_API_KEY: KEYS.gpt2 }),
      await startQdrantSim(qdrantPort),
    );
    fakes = {
      embed: await fakeWorkload(['embed-a', 'embed-b']),
      rr: [
        await fakeWorkload(['rr-model']),
        await fakeWorkload(['rr-model']),
        await fakeWorkload(['rr-model']),
      ],
      cut: await fakeWorkload(['flaky-model'], 'cut'),
      endless: await fakeWorkload(['endless-model'], 'endless'),
    };
    const [rr0, rr1, rr2] = fakes.rr;
    // The recipe's default model: config names none.
    await registry.createService(vllm('201', `http://127.0.0.1:${qwenPort}`, { api_key: KEYS.qwen }));
    await registry.createService(
      vllm('202', `http://127.0.0.1:${gpt2Port}`, {
        api_key: KEYS.gpt2,
        config: { model: 'gpt2' },
      }),
    );
    // Ready on record, but nothing listens: routing must skip it.
    await registry.createService(
      vllm('203', `http://127.0.0.1:${await freePort()}`, { config: { environment: { VLLM_MODEL: QWEN } } }),
    );
    await registry.createService(
      vllm('204', fakes.embed.endpoint, {
        config: { environment: { VLLM_SERVED_MODEL_NAME: 'embed-a embed-b' } },
      }),
    );
    await registry.createService(
      vllm('205', null, {
        scheduler_state: 'PENDING',
        ready: false,
        created_at: '2025-01-02T00:00:00.000Z',
        config: { model: 'pending-model' },
        queue: PENDING_QUEUE,
      }),
    );
    await registry.createService(
      vllm('206', null, {
        ready: false,
        config: { environment: { VLLM_SERVED_MODEL_NAME: 'loading-model' } },
      }),
    );
    await registry.createService(vllm('207', fakes.cut.endpoint));
    await registry.createService(vllm('208', fakes.endless.endpoint));
    await registry.createService(vllm('211', rr2!.endpoint));
    await registry.createGroup({
      id: 'sg-210',
      job_ids: ['210'],
      name: 'rr',
      recipe_name: 'inference/vllm-replicas',
      kind: 'vllm',
      config: {},
      created_at: '2025-01-01T00:00:00.000Z',
      submission_id: 's210',
      total_replicas: 2,
      gpu_per_replica: 1,
      base_port: 8001,
    });
    await registry.createService(
      vllm('210', null, {
        group_id: 'sg-210',
        node_index: 0,
        replicas: [rr0!, rr1!].map((fake, index) => ({
          index,
          gpu_ids: [String(index)],
          endpoint: fake.endpoint,
          ready: true,
          seen_ready: true,
        })),
      }),
    );
    const qdrant = { kind: 'qdrant' as const, recipe_name: 'vector-db/qdrant', readiness_path: '/readyz' };
    await registry.createService(
      storedService('220', { ...qdrant, endpoint: `http://127.0.0.1:${qdrantPort}`, api_key: KEYS.qdrant }),
    );
    await registry.createService(
      storedService('221', { ...qdrant, endpoint: null, scheduler_state: 'PENDING', ready: false }),
    );
    const config = loadProxyConfig({
      REDIS_URL,
      REDIS_PREFIX: prefix,
      PROXY_PORT: '0',
      LOG_LEVEL: 'silent',
      PROXY_TOKEN: TOKEN,
      // Bare simulators, no auth front to prove the key.
      WORKLOAD_KEY_PROOF: 'false',
      RECIPES_DIR: path.join(ROOT, 'recipes'),
      // Long, so that only a change announcement can explain a prompt update.
      ROUTING_CACHE_MS: '600000',
    });
    app = await createProxyApp(config, createLogger('proxy', 'silent'));
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
  });

  afterAll(async () => {
    await app.close();
    for (const child of children) child.kill('SIGTERM');
    for (const fake of [fakes.embed, ...fakes.rr, fakes.cut, fakes.endless]) {
      fake.server.closeAllConnections();
      fake.server.close();
    }
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  const chat = (model: string, extra: Record<string, unknown> = {}): string =>
    JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, ...extra });

  describe('the proxy token', () => {
    it('refuses a request without it, saying what is missing, in the shape of the route', async () => {
      const openAi = await send(base, 'GET', '/v1/models', { headers: { authorization: '' } });
      expect(openAi.status).toBe(401);
      expect(openAi.json()).toEqual({
        error: {
          message: expect.stringContaining('no Authorization header') as string,
          type: 'authentication_error',
          code: 'invalid_proxy_token',
        },
      });
      const nest = await send(base, 'GET', '/api/services/vllm/201/models', {
        headers: { authorization: 'Bearer nope' },
      });
      expect(nest.status).toBe(401);
      expect(nest.json()).toMatchObject({
        success: false,
        statusCode: 401,
        message: "The bearer token is not the proxy's token",
      });
      expect(nest.headers['x-aiplane-overhead-ms']).toMatch(/^[0-9]+\.[0-9]$/);
    });

    it('leaves GET /health open: liveness says no more than an open port', async () => {
      const health = await send(base, 'GET', '/health', { headers: { authorization: '' } });
      expect(health.status).toBe(200);
    });
  });

  describe('GET /v1/models', () => {
    it('lists every model of every non-terminal service and group, with what is coming', async () => {
      const answer = await send(base, 'GET', '/v1/models');
      expect(answer.status).toBe(200);
      expect(answer.headers['x-aiplane-overhead-ms']).toMatch(/^[0-9]+\.[0-9]$/);
      const list = answer.json() as { object: string; data: Record<string, unknown>[] };
      expect(list.object).toBe('list');
      const byId = Object.fromEntries(list.data.map((model) => [model.id as string, model]));
      expect(byId[QWEN]).toEqual({
        id: QWEN,
        object: 'model',
        created: Date.parse('2025-01-01T00:00:00.000Z') / 1000,
        owned_by: 'aiplane',
        status: 'running',
        services: ['201', '203'],
        ready_replicas: 2,
      });
      expect(byId.gpt2).toMatchObject({ services: ['202'], status: 'running' });
      expect(byId['embed-a']).toMatchObject({ services: ['204'], ready_replicas: 1 });
      expect(byId['embed-b']).toMatchObject({ services: ['204'] });
      expect(byId['pending-model']).toMatchObject({
        status: 'pending',
        services: ['205'],
        ready_replicas: 0,
        queue: PENDING_QUEUE,
      });
      expect(byId['loading-model']).not.toHaveProperty('queue');
      expect(byId['loading-model']).toMatchObject({
        status: 'configuring',
        services: ['206'],
        ready_replicas: 0,
      });
      expect(byId['rr-model']).toMatchObject({ status: 'running', ready_replicas: 3 });
      expect((byId['rr-model']?.services as string[]).sort()).toEqual(['211', 'sg-210']);
      expect(byId['/nonexistent']).toBeUndefined();
    });

    it('answers one model, or model_not_found', async () => {
      expect((await send(base, 'GET', '/v1/models/gpt2')).json()).toMatchObject({
        id: 'gpt2',
        object: 'model',
      });
      const missing = await send(base, 'GET', '/v1/models/nope');
      expect(missing.status).toBe(404);
      expect(missing.json()).toMatchObject({ error: { code: 'model_not_found' } });
    });
  });

  describe('POST /v1/... routed by model', () => {
    it('answers from the simulator with both timing headers', async () => {
      const answer = await send(base, 'POST', '/v1/chat/completions', {
        headers: JSON_HEADERS,
        body: chat('gpt2'),
      });
      // gpt2 has no chat template: the workload's own 400 comes back as it is.
      expect(answer.status).toBe(400);
      const completion = await send(base, 'POST', '/v1/completions', {
        headers: JSON_HEADERS,
        body: JSON.stringify({ model: 'gpt2', prompt: 'Write a haiku', max_tokens: 5 }),
      });
      expect(completion.status).toBe(200);
      expect(completion.json()).toMatchObject({ object: 'text_completion', model: 'gpt2' });
      expect(completion.headers['x-aiplane-workload-ms']).toMatch(/^[0-9]+\.[0-9]$/);
      expect(completion.headers['x-aiplane-overhead-ms']).toMatch(/^[0-9]+\.[0-9]$/);
    });

    it('round-robins over every ready replica of every service and group serving the model', async () => {
      const ports: unknown[] = [];
      for (let i = 0; i < 6; i += 1) {
        const answer = await send(base, 'POST', '/v1/embeddings', {
          headers: JSON_HEADERS,
          body: JSON.stringify({ model: 'rr-model', input: 'x' }),
        });
        expect(answer.status).toBe(200);
        ports.push(answer.json().port);
      }
      const counts = new Map<unknown, number>();
      for (const port of ports) counts.set(port, (counts.get(port) ?? 0) + 1);
      expect([...counts.values()]).toEqual([2, 2, 2]);
    });

    it('skips a replica that refuses the connection, and takes it out of rotation', async () => {
      for (let i = 0; i < 3; i += 1) {
        const answer = await send(base, 'POST', '/v1/chat/completions', {
          headers: JSON_HEADERS,
          body: chat(QWEN),
        });
        expect(answer.status).toBe(200);
      }
      expect((await registry.get('203'))?.ready).toBe(false);
    });

    it('forwards the original bytes with the job key, never the client credentials', async () => {
      const body = '{ "input" : ["a b"],\n  "model":"embed-b" }';
      const answer = await send(base, 'POST', '/v1/embeddings', {
        headers: {
          ...JSON_HEADERS,
          'x-request-id': 'req-dp-1',
          cookie: 'session=1',
          'api-key': 'client-key',
          connection: 'keep-alive',
        },
        body,
      });
      expect(answer.status).toBe(200);
      expect(answer.headers['x-request-id']).toBe('req-dp-1');
      const seen = fakes.embed.received.at(-1)!;
      expect(seen.url).toBe('/v1/embeddings');
      expect(seen.body.toString('utf8')).toBe(body);
      expect(seen.headers['content-length']).toBe(String(Buffer.byteLength(body)));
      expect(seen.headers.authorization).toBe(`Bearer ${KEYS.fake}`);
      expect(seen.headers['x-request-id']).toBe('req-dp-1');
      expect(seen.headers.cookie).toBeUndefined();
      expect(seen.headers['api-key']).toBeUndefined();
    });

    it('refuses bad input in OpenAI shape without reaching a workload', async () => {
      const before = fakes.embed.received.length;
      const cases: [http.OutgoingHttpHeaders, string | Buffer, number, string][] = [
        [{ 'content-type': 'text/plain' }, '{"model":"embed-a"}', 415, 'unsupported_media_type'],
        [JSON_HEADERS, '{"model":', 400, 'invalid_json'],
        [JSON_HEADERS, '{"input":"x"}', 400, 'missing_model'],
        [JSON_HEADERS, '{"model":7}', 400, 'invalid_model'],
        [JSON_HEADERS, '{"model":"no-such-model"}', 404, 'model_not_found'],
        [JSON_HEADERS, Buffer.alloc(1024 * 1024 + 1, 0x20), 413, 'request_too_large'],
      ];
      for (const [headers, body, status, code] of cases) {
        const answer = await send(base, 'POST', '/v1/embeddings', { headers, body });
        expect({ status: answer.status, code: (answer.json().error as { code: string }).code }).toEqual({
          status,
          code,
        });
        expect(answer.json().error).toMatchObject({
          message: expect.any(String) as string,
          type: expect.any(String) as string,
        });
      }
      expect(fakes.embed.received.length).toBe(before);
    });

    it('refuses a chunked body as soon as it passes 1 MiB', async () => {
      const answer = await new Promise<number>((resolve, reject) => {
        const url = new URL(base);
        const req = http.request(
          {
            host: url.hostname,
            port: url.port,
            method: 'POST',
            path: '/v1/embeddings',
            headers: { ...AUTH, ...JSON_HEADERS, 'transfer-encoding': 'chunked' },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        for (let i = 0; i < 20; i += 1) req.write(Buffer.alloc(64 * 1024, 0x20));
        req.end();
      });
      expect(answer).toBe(413);
    });

    it('answers 503 with Retry-After for a model that is coming but not ready', async () => {
      const pending = await send(base, 'POST', '/v1/completions', {
        headers: JSON_HEADERS,
        body: '{"model":"pending-model","prompt":"x"}',
      });
      expect(pending.status).toBe(503);
      // Until the scheduler's estimate (10 minutes away), plus the configured start-up allowance.
      expect(Number(pending.headers['retry-after'])).toBeGreaterThanOrEqual(600);
      expect(Number(pending.headers['retry-after'])).toBeLessThanOrEqual(611);
      expect(pending.json()).toMatchObject({ error: { code: 'model_not_ready', type: 'server_error' } });
      const loading = await send(base, 'POST', '/v1/completions', {
        headers: JSON_HEADERS,
        body: '{"model":"loading-model","prompt":"x"}',
      });
      expect(loading.status).toBe(503);
      expect(loading.headers['retry-after']).toBe('10');
    });
  });

  describe('streaming', () => {
    it('passes SSE chunks on as the workload writes them, spread over time, to [DONE]', async () => {
      const response = await fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { ...AUTH, ...JSON_HEADERS },
        body: chat(QWEN, { stream: true, max_tokens: 10 }),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/event-stream');
      const arrivals: number[] = [];
      let text = '';
      const decoder = new TextDecoder();
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        arrivals.push(Date.now());
        text += decoder.decode(chunk);
      }
      expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
      // Ten tokens 20 ms apart: a buffered answer would arrive in one burst.
      expect(arrivals.length).toBeGreaterThanOrEqual(5);
      expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual(100);
    });

    it('aborts the workload request when the client goes away', async () => {
      const controller = new AbortController();
      const response = await fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { ...AUTH, ...JSON_HEADERS },
        body: chat('endless-model', { stream: true }),
        signal: controller.signal,
      });
      const reader = response.body!.getReader();
      await reader.read();
      controller.abort();
      for (let i = 0; i < 50 && fakes.endless.state.aborted === 0; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(fakes.endless.state.aborted).toBe(1);
    });

    it('the simulator sees the abort too', async () => {
      // vLLM 0.11 does not count an aborted request as finished: it stops running and never
      // reaches the end-to-end latency histogram, and its tokens stop.
      const metric = async (name: string): Promise<number> => {
        const text = await (
          await fetch(`http://127.0.0.1:${qwenPort}/metrics`, {
            headers: { authorization: `Bearer ${KEYS.qwen}` },
          })
        ).text();
        const line = text.split('\n').find((l) => l.startsWith(`${name}{`));
        return Number(line?.split(' ').at(-1) ?? 'NaN');
      };
      const finishedBefore = await metric('vllm:e2e_request_latency_seconds_count');
      const controller = new AbortController();
      const response = await fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { ...AUTH, ...JSON_HEADERS },
        body: chat(QWEN, { stream: true, max_tokens: 500 }),
        signal: controller.signal,
      });
      await response.body!.getReader().read();
      expect(await metric('vllm:num_requests_running')).toBe(1);
      controller.abort();
      let running = 1;
      for (let i = 0; i < 50 && running !== 0; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        running = await metric('vllm:num_requests_running');
      }
      expect(running).toBe(0);
      expect(await metric('vllm:e2e_request_latency_seconds_count')).toBe(finishedBefore);
    });

    it('ends a stream the workload cuts with one error event', async () => {
      const answer = await send(base, 'POST', '/v1/chat/completions', {
        headers: JSON_HEADERS,
        body: chat('flaky-model', { stream: true }),
      });
      expect(answer.status).toBe(200);
      const events = answer.text.split('\n\n').filter((event) => event !== '');
      expect(events).toHaveLength(2);
      expect(events[0]).toContain('first');
      expect(JSON.parse(events[1]!.slice('data: '.length))).toEqual({
        error: { message: expect.any(String) as string, type: 'server_error', code: 'upstream_disconnected' },
      });
    });
  });

  describe('/api/services/vllm/{id}/v1/... pinned to one service', () => {
    it("answers GET v1/models with the workload's own list", async () => {
      const answer = await send(base, 'GET', '/api/services/vllm/201/v1/models');
      expect(answer.status).toBe(200);
      expect(answer.json()).toMatchObject({ object: 'list', data: [expect.objectContaining({ id: QWEN })] });
      expect(answer.headers['x-aiplane-workload-ms']).toBeDefined();
    });

    it('goes to that service or group only', async () => {
      const answer = await send(base, 'POST', '/api/services/vllm/sg-210/v1/embeddings?x=1', {
        headers: JSON_HEADERS,
        body: '{"input":"no model"}',
      });
      expect(answer.status).toBe(200);
      expect(answer.json()).toMatchObject({ object: 'echo', url: '/v1/embeddings?x=1' });
      expect([fakes.rr[0]!.endpoint, fakes.rr[1]!.endpoint]).toContain(
        `http://127.0.0.1:${String(answer.json().port)}`,
      );
    });

    it('answers unknown and not-ready services in OpenAI shape', async () => {
      const unknown = await send(base, 'GET', '/api/services/vllm/999/v1/models');
      expect(unknown.status).toBe(404);
      expect(unknown.json()).toMatchObject({ error: { code: 'service_not_found' } });
      const pending = await send(base, 'GET', '/api/services/vllm/205/v1/models');
      expect(pending.status).toBe(503);
      expect(Number(pending.headers['retry-after'])).toBeGreaterThanOrEqual(600);
      expect(pending.json()).toMatchObject({ error: { type: 'server_error' } });
      const badId = await send(base, 'GET', '/api/services/vllm/abc/v1/models');
      expect(badId.status).toBe(400);
      expect(badId.json()).toMatchObject({ error: { code: 'invalid_id' } });
    });
  });

  describe('the prompt route', () => {
    it('streams the chat SSE chunks with stream: true', async () => {
      const answer = await send(base, 'POST', '/api/services/vllm/201/prompt', {
        headers: JSON_HEADERS,
        body: '{"prompt":"hi","max_tokens":3,"stream":true}',
      });
      expect(answer.status).toBe(200);
      expect(answer.headers['content-type']).toContain('text/event-stream');
      expect(answer.text).toContain('chat.completion.chunk');
      expect(answer.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    });

    it('answers a buffered prompt with the workload time apart from its own', async () => {
      const answer = await send(base, 'POST', '/api/services/vllm/201/prompt', {
        headers: JSON_HEADERS,
        body: '{"prompt":"hi","max_tokens":3}',
      });
      expect(answer.status).toBe(200);
      expect(answer.json()).toMatchObject({ success: true, endpoint_used: 'chat' });
      expect(answer.headers['x-aiplane-workload-ms']).toMatch(/^[0-9]+\.[0-9]$/);
      expect(answer.headers['x-aiplane-overhead-ms']).toMatch(/^[0-9]+\.[0-9]$/);
    });

    it('hands the request id and the workload time down without entering an AsyncLocalStorage', async () => {
      // On Node 20 an entered store turns on an async hook that every promise then pays for.
      const run = jest.spyOn(AsyncLocalStorage.prototype, 'run');
      try {
        const prompt = await send(base, 'POST', '/api/services/vllm/204/prompt', {
          headers: { ...JSON_HEADERS, 'x-request-id': 'req-dp-prompt' },
          body: '{"prompt":"hi","model":"embed-a","max_tokens":3}',
        });
        expect(prompt.status).toBe(200);
        expect(prompt.headers['x-aiplane-workload-ms']).toMatch(/^[0-9]+\.[0-9]$/);
        expect(fakes.embed.received.at(-1)!.headers['x-request-id']).toBe('req-dp-prompt');
        const streamed = await send(base, 'POST', '/api/services/vllm/204/prompt', {
          headers: { ...JSON_HEADERS, 'x-request-id': 'req-dp-stream' },
          body: '{"prompt":"hi","model":"embed-a","max_tokens":3,"stream":true}',
        });
        expect(streamed.status).toBe(200);
        expect(fakes.embed.received.at(-1)!.headers['x-request-id']).toBe('req-dp-stream');
        const v1 = await send(base, 'POST', '/v1/embeddings', {
          headers: { ...JSON_HEADERS, 'x-request-id': 'req-dp-v1' },
          body: '{"input":"a","model":"embed-a"}',
        });
        expect(v1.status).toBe(200);
        expect(fakes.embed.received.at(-1)!.headers['x-request-id']).toBe('req-dp-v1');
        expect(run).not.toHaveBeenCalled();
      } finally {
        run.mockRestore();
      }
    });

    it('falls back to streamed completions for a model without a chat template', async () => {
      const answer = await send(base, 'POST', '/api/services/vllm/202/prompt', {
        headers: JSON_HEADERS,
        body: '{"prompt":"hi","max_tokens":3,"stream":true}',
      });
      expect(answer.status).toBe(200);
      expect(answer.text).toContain('"object":"text_completion"');
      expect(answer.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    });

    it('keeps the v1 validation messages and envelope', async () => {
      const bad = await send(base, 'POST', '/api/services/vllm/201/prompt', {
        headers: JSON_HEADERS,
        body: '{"prompt":"hi","max_tokens":-1,"stream":"yes"}',
      });
      expect(bad.status).toBe(400);
      expect(bad.json()).toMatchObject({ success: false, statusCode: 400, error: 'Bad Request' });
      expect(bad.json().message).toContain('max_tokens must not be less than 1');
      expect(bad.json().message).toContain('stream must be a boolean value');
      const notJson = await send(base, 'POST', '/api/services/vllm/201/prompt', {
        headers: JSON_HEADERS,
        body: '{',
      });
      expect(notJson.json()).toMatchObject({
        statusCode: 400,
        message: expect.stringContaining('not valid JSON') as string,
      });
      const wrongType = await send(base, 'POST', '/api/services/vllm/201/prompt', {
        headers: { 'content-type': 'text/plain' },
        body: 'hi',
      });
      expect(wrongType.status).toBe(415);
      const pending = await send(base, 'POST', '/api/services/vllm/205/prompt', {
        headers: JSON_HEADERS,
        body: '{"prompt":"hi"}',
      });
      expect(pending.status).toBe(503);
      expect(Number(pending.headers['retry-after'])).toBeGreaterThanOrEqual(600);
      expect(pending.json()).toMatchObject({ success: false, status: 'pending', queue: PENDING_QUEUE });
    });
  });

  describe('the Qdrant pass-through', () => {
    const q = (rest: string): string => `/api/services/vector-db/220/qdrant${rest}`;

    it("speaks Qdrant's own API with the service's key, whatever key the client sent", async () => {
      const wrongKey = { ...JSON_HEADERS, 'api-key': 'not-the-key' };
      const created = await send(base, 'PUT', q('/collections/docs'), {
        headers: wrongKey,
        body: JSON.stringify({ vectors: { size: 4, distance: 'Cosine' } }),
      });
      expect(created.status).toBe(200);
      expect(created.json()).toMatchObject({ result: true, status: 'ok' });
      expect(created.headers['x-aiplane-workload-ms']).toBeDefined();
      const upserted = await send(base, 'PUT', q('/collections/docs/points?wait=true'), {
        headers: wrongKey,
        body: JSON.stringify({ points: [{ id: 1, vector: [0.1, 0.2, 0.3, 0.4], payload: { text: 'a' } }] }),
      });
      expect(upserted.status).toBe(200);
      const found = await send(base, 'POST', q('/collections/docs/points/search'), {
        headers: wrongKey,
        body: JSON.stringify({ vector: [0.1, 0.2, 0.3, 0.4], limit: 1, with_payload: true }),
      });
      expect(found.json()).toMatchObject({ result: [{ id: 1, payload: { text: 'a' } }] });
      const missing = await send(base, 'GET', q('/collections/nope'));
      expect(missing.status).toBe(404);
      expect(missing.json()).toMatchObject({ status: { error: expect.any(String) as string } });
    });

    it('refuses a path that could leave the Qdrant API', async () => {
      for (const rest of [
        '/../metrics',
        '/collections/./docs',
        '//collections',
        '/collections%2Fdocs',
        '/collections\\docs',
        '/%2e%2e/x',
      ]) {
        const answer = await send(base, 'GET', q(rest));
        expect({ rest, status: answer.status }).toEqual({ rest, status: 400 });
        expect(answer.json()).toMatchObject({ success: false, statusCode: 400 });
      }
    });

    it('answers 503 with Retry-After in the data-plane envelope while the service is not ready', async () => {
      const answer = await send(base, 'GET', '/api/services/vector-db/221/qdrant/collections');
      expect(answer.status).toBe(503);
      expect(answer.headers['retry-after']).toBe('30');
      expect(answer.json()).toMatchObject({ success: false, statusCode: 503, status: 'pending' });
    });
  });

  it('the Nest routes carry the timing headers too', async () => {
    const answer = await send(base, 'GET', '/api/services/vllm/201/models');
    expect(answer.status).toBe(200);
    expect(answer.headers['x-aiplane-overhead-ms']).toMatch(/^[0-9]+\.[0-9]$/);
    expect(answer.headers['x-aiplane-workload-ms']).toMatch(/^[0-9]+\.[0-9]$/);
  });

  it('sees a registry change at once, without waiting for the routing cache to expire', async () => {
    const listed = async (): Promise<unknown> =>
      (
        (await send(base, 'GET', '/v1/models')).json() as { data: { id: string; ready_replicas: number }[] }
      ).data.find((m) => m.id === 'embed-a')?.ready_replicas;
    expect(await listed()).toBe(1);
    await registry.setReadiness('204', false);
    let seen: unknown = 1;
    for (let i = 0; i < 50 && seen !== 0; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      seen = await listed();
    }
    expect(seen).toBe(0);
    await registry.setReadiness('204', true);
  });
});
