import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import * as path from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Redis } from 'ioredis';
import { createRedis, ServiceRegistry } from '@aiplane/registry';
import { infraRedisUrl, storedService } from '@aiplane/testing';
import { createLogger } from '@aiplane/server-kit';
import { createProxyApp } from '../platform/proxy-app.factory';
import { loadProxyConfig } from '../proxy.config';

/** The proxy refuses every request without its token (GET /health aside). */
const PROXY_TOKEN = 'proxy-int-spec-token-0123456789abcdef';
const proxyFetch = (url: string, init: RequestInit = {}): Promise<Response> =>
  fetch(url, {
    ...init,
    headers: {
      ...(init.headers as Record<string, string> | undefined),
      authorization: `Bearer ${PROXY_TOKEN}`,
    },
  });

// Real Redis, a real simulator process and the real proxy app: the data plane end to end.
const REDIS_URL = infraRedisUrl();
const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const prefix = `int-proxy-${process.pid}`;

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

// Each simulator requires its own key, as the worker starts workloads: every passing call below also
// proves that the proxy authenticates with the key from the record.
const KEYS = { qwen: 'qwen-key-Zm9vYmFyYmF6cXV4', gpt2: 'gpt2-key-cXV1eGJhemJhcmZvbw' };

async function startSim(port: number, model: string, apiKey: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/apps/vllm-sim/src/main.js')], {
    env: {
      PATH: '/usr/bin:/bin',
      VLLM_MODEL: model,
      VLLM_PORT: String(port),
      VLLM_HOST: '127.0.0.1',
      VLLM_API_KEY: apiKey,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  for (let attempt = 0; attempt < 100; attempt += 1) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) return child;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error('simulator did not start');
}

describe('proxy data plane (real Redis, real simulator)', () => {
  let app: NestExpressApplication;
  let base: string;
  let redis: Redis;
  let registry: ServiceRegistry;
  const sims: ChildProcess[] = [];
  let qwenPort: number;
  let gpt2Port: number;

  beforeAll(async () => {
    redis = createRedis(REDIS_URL);
    registry = new ServiceRegistry(redis, prefix);
    qwenPort = await freePort();
    gpt2Port = await freePort();
    sims.push(
      await startSim(qwenPort, 'Qwen/Qwen2.5-0.5B-Instruct', KEYS.qwen),
      await startSim(gpt2Port, 'gpt2', KEYS.gpt2),
    );
    await registry.createService(
      storedService('101', { endpoint: `http://127.0.0.1:${qwenPort}`, api_key: KEYS.qwen }),
    );
    await registry.createService(
      storedService('102', { endpoint: `http://127.0.0.1:${gpt2Port}`, api_key: KEYS.gpt2 }),
    );
    await registry.createService(
      storedService('103', { endpoint: null, scheduler_state: 'PENDING', ready: false }),
    );
    await registry.createService(storedService('104', { endpoint: `http://127.0.0.1:${await freePort()}` }));
    // Another service's key: the workload refuses it.
    await registry.createService(
      storedService('105', { endpoint: `http://127.0.0.1:${qwenPort}`, api_key: KEYS.gpt2 }),
    );
    const config = loadProxyConfig({
      REDIS_URL,
      REDIS_PREFIX: prefix,
      PROXY_PORT: '0',
      PROXY_TOKEN,
      LOG_LEVEL: 'silent',
      // Bare simulators, no auth front to prove the key.
      WORKLOAD_KEY_PROOF: 'false',
    });
    const logger = createLogger('proxy', 'silent');
    app = await createProxyApp(config, logger);
    await app.listen(0, '127.0.0.1');
    base = `${await app.getUrl()}/api/services`;
  });

  afterAll(async () => {
    await app.close();
    for (const sim of sims) sim.kill('SIGTERM');
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  async function prompt(
    id: string,
    body: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await proxyFetch(`${base}/vllm/${id}/prompt`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-int-1' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it('answers a prompt through the chat endpoint with the contract envelope', async () => {
    const response = await prompt('101', { prompt: 'Tell me a joke about programming', max_tokens: 20 });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      success: true,
      service_id: '101',
      endpoint_used: 'chat',
      model: 'Qwen/Qwen2.5-0.5B-Instruct',
      usage: { completion_tokens: 20 },
    });
    expect(response.body.text).toBe(response.body.response);
    const again = await prompt('101', { prompt: 'Tell me a joke about programming', max_tokens: 20 });
    expect(again.body.text).toBe(response.body.text);
  });

  it('falls back to completions for a model without a chat template', async () => {
    const response = await prompt('102', { prompt: 'Write a haiku', model: 'gpt2', max_tokens: 10 });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ success: true, endpoint_used: 'completions', model: 'gpt2' });
  });

  it('lists the served models and serves metrics labelled with the service and replica', async () => {
    const models = (await (await proxyFetch(`${base}/vllm/101/models`)).json()) as {
      models: string[];
      data: { id: string; object: string }[];
    };
    // Ids as strings, as the document's clients index them; the workload's objects under data.
    expect(models.models).toEqual(['Qwen/Qwen2.5-0.5B-Instruct']);
    expect(models.data).toEqual([
      expect.objectContaining({ id: 'Qwen/Qwen2.5-0.5B-Instruct', object: 'model' }),
    ]);
    const metrics = await proxyFetch(`${base}/vllm/101/metrics`);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    const text = await metrics.text();
    expect(text).toMatch(
      new RegExp(
        `^vllm:generation_tokens_total\\{engine="0",model_name="Qwen/Qwen2\\.5-0\\.5B-Instruct",service_id="101",replica_id="101:${qwenPort}"\\} [0-9]+$`,
        'm',
      ),
    );
    expect(text).toContain('aiplane_service_up{service_id="101",status="running"} 1\n');
  });

  it('the workload itself refuses callers without its key: only the proxy can use it', async () => {
    const direct = `http://127.0.0.1:${qwenPort}`;
    expect((await fetch(`${direct}/v1/models`)).status).toBe(401);
    const prompt = await fetch(`${direct}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEYS.gpt2}` },
      body: JSON.stringify({
        model: 'Qwen/Qwen2.5-0.5B-Instruct',
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    expect(prompt.status).toBe(401);
    // The readiness path stays open: the prober needs no key.
    expect((await fetch(`${direct}/health`)).status).toBe(200);
    const holder = await fetch(`${direct}/v1/models`, { headers: { authorization: `Bearer ${KEYS.qwen}` } });
    expect(holder.status).toBe(200);
  });

  it("answers 502 when the workload refuses the record's key: the service's fault, not the request's", async () => {
    const response = await prompt('105', { prompt: 'hi', model: 'Qwen/Qwen2.5-0.5B-Instruct' });
    expect(response.status).toBe(502);
    expect(String(response.body.message)).toContain('refused access (HTTP 401)');
    expect(JSON.stringify(response.body)).not.toContain(KEYS.gpt2);
  });

  it('says why a service that is not running cannot be prompted', async () => {
    const response = await prompt('103', { prompt: 'hi' });
    expect(response.status).toBe(503);
    expect(response.body).toMatchObject({ success: false, status: 'pending' });
  });

  it('marks a workload that refuses connections down at once and reports the attempted replica', async () => {
    const response = await prompt('104', { prompt: 'hi' });
    expect(response.status).toBe(503);
    expect(response.body.attempted_replicas).toEqual([expect.stringMatching(/^104:[0-9]+$/)]);
    expect((await registry.get('104'))?.ready).toBe(false);
  });

  it('refuses unknown ids, bad ids and bad bodies without calling a workload', async () => {
    expect((await prompt('999', { prompt: 'hi' })).status).toBe(404);
    expect((await prompt('abc', { prompt: 'hi' })).status).toBe(400);
    const bad = await prompt('101', { prompt: 'hi', max_tokens: -1, extra: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ success: false, statusCode: 400, error: 'Bad Request' });
  });

  it('passes a model-server rejection on as a 400 the user can act on', async () => {
    const response = await prompt('101', { prompt: 'hi', model: 'no-such-model' });
    expect(response.status).toBe(400);
    expect(String(response.body.message)).toContain('no-such-model');
  });
});
