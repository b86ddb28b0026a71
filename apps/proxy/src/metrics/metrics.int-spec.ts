import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Redis } from 'ioredis';
import { parseExposition, type MetricFamily } from '@aiplane/metrics';
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

// Real Redis, real simulator processes and the real proxy app: what a Prometheus scrape sees.
const REDIS_URL = infraRedisUrl();
const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const prefix = `int-proxy-metrics-${process.pid}`;

/** Media type and parameters; Express writes the parameters in its own order (charset first). */
function expectPrometheusText(contentType: string | null): void {
  const [type, ...parameters] = (contentType ?? '').split(';').map((part) => part.trim());
  expect(type).toBe('text/plain');
  expect(parameters.sort()).toEqual(['charset=utf-8', 'version=0.0.4']);
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function start(main: string, env: Record<string, string>, readyUrl: string): Promise<ChildProcess> {
  const file = path.join(ROOT, main);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [file], {
    env: { PATH: '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let attempt = 0; attempt < 100; attempt += 1) {
    try {
      if ((await fetch(readyUrl)).ok) return child;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  child.kill('SIGTERM');
  throw new Error(`${main} did not start`);
}

// The simulators require keys, as the worker starts workloads: every scrape below that gets the
// workload's metrics also proves that the proxy authenticates with the key from the record.
const KEYS = { vllm: 'vllm-key-bWV0cmljcy12bGxt', qdrant: 'qdrant-key-bWV0cmljcy1xZHJhbnQ' };

const withoutGauge = (families: MetricFamily[]): MetricFamily[] =>
  families.filter((family) => family.name !== 'aiplane_service_up');

describe('proxy metrics (real Redis, real simulators)', () => {
  let app: NestExpressApplication;
  let base: string;
  let redis: Redis;
  let registry: ServiceRegistry;
  const children: ChildProcess[] = [];
  let vllmPort: number;
  let qdrantPort: number;

  beforeAll(async () => {
    redis = createRedis(REDIS_URL);
    registry = new ServiceRegistry(redis, prefix);
    vllmPort = await freePort();
    qdrantPort = await freePort();
    children.push(
      await start(
        'dist/apps/vllm-sim/src/main.js',
        {
          VLLM_MODEL: 'Qwen/Qwen2.5-0.5B-Instruct',
          VLLM_PORT: String(vllmPort),
          VLLM_HOST: '127.0.0.1',
          VLLM_API_KEY: KEYS.vllm,
        },
        `http://127.0.0.1:${vllmPort}/health`,
      ),
      await start(
        'dist/apps/qdrant-sim/src/main.js',
        {
          QDRANT__SERVICE__HOST: '127.0.0.1',
          QDRANT__SERVICE__HTTP_PORT: String(qdrantPort),
          QDRANT__SERVICE__GRPC_PORT: String(await freePort()),
          QDRANT__SERVICE__API_KEY: KEYS.qdrant,
        },
        `http://127.0.0.1:${qdrantPort}/readyz`,
      ),
    );
    await registry.createService(
      storedService('201', { endpoint: `http://127.0.0.1:${vllmPort}`, api_key: KEYS.vllm }),
    );
    await registry.createService(
      storedService('202', { endpoint: null, scheduler_state: 'PENDING', ready: false }),
    );
    await registry.createService(
      storedService('203', { endpoint: `http://127.0.0.1:${vllmPort}`, ready: false }),
    );
    await registry.createService(
      storedService('204', { endpoint: null, scheduler_state: 'CANCELLED', ready: false }),
    );
    await registry.createService(storedService('205', { endpoint: `http://127.0.0.1:${await freePort()}` }));
    await registry.createService(
      storedService('301', {
        endpoint: `http://127.0.0.1:${qdrantPort}`,
        kind: 'qdrant',
        recipe_name: 'vector-db/qdrant',
        readiness_path: '/readyz',
        api_key: KEYS.qdrant,
      }),
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
    // Some traffic, so that the histograms have observations under their model_name label.
    const prompt = await proxyFetch(`${base}/vllm/201/prompt`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'Tell me a joke about programming', max_tokens: 8 }),
    });
    expect(prompt.status).toBe(200);
  });

  afterAll(async () => {
    await app.close();
    for (const child of children) child.kill('SIGTERM');
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  async function scrape(route: string): Promise<{ status: number; type: string | null; text: string }> {
    const response = await proxyFetch(`${base}/${route}`);
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      text: await response.text(),
    };
  }

  it.each(['vllm/201/metrics', '201/metrics'])(
    "%s: the simulator's exposition with service_id and replica_id on every sample",
    async (route) => {
      const direct = await (await fetch(`http://127.0.0.1:${vllmPort}/metrics`)).text();
      const scraped = await scrape(route);
      expect(scraped.status).toBe(200);
      expectPrometheusText(scraped.type);

      const samples = scraped.text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
      const added = `service_id="201",replica_id="201:${vllmPort}"`;
      for (const line of samples.filter((sample) => !sample.startsWith('aiplane_service_up'))) {
        expect(line).toContain(added);
      }
      expect(samples).toContain('aiplane_service_up{service_id="201",status="running"} 1');
      expect(scraped.text).toMatch(
        /^vllm:time_to_first_token_seconds_sum\{engine="0",model_name="Qwen\/Qwen2\.5-0\.5B-Instruct",service_id="201",replica_id="201:[0-9]+"\} [0-9.e-]+$/m,
      );

      // Nothing lost or changed besides the labels (the simulator is idle, so the two reads agree).
      const expected = parseExposition(direct).map((family) => ({
        ...family,
        samples: family.samples.map((sample) => ({
          ...sample,
          labels: { ...sample.labels, service_id: '201', replica_id: `201:${vllmPort}` },
        })),
      }));
      expect(withoutGauge(parseExposition(scraped.text))).toEqual(expected);
      const typeLines = scraped.text.split('\n').filter((line) => line.startsWith('# TYPE '));
      expect(new Set(typeLines).size).toBe(typeLines.length);
    },
  );

  it("vector-db/301/metrics: Qdrant's exposition, relabelled", async () => {
    const scraped = await scrape('vector-db/301/metrics');
    expect(scraped.status).toBe(200);
    expectPrometheusText(scraped.type);
    expect(scraped.text).toContain(`collections_total{service_id="301",replica_id="301:${qdrantPort}"} `);
    expect(scraped.text).toContain('aiplane_service_up{service_id="301",status="running"} 1\n');
  });

  it("Qdrant's /metrics refuses a direct call without its key; the proxy's scrape above had it", async () => {
    expect((await fetch(`http://127.0.0.1:${qdrantPort}/metrics`)).status).toBe(401);
    const holder = await fetch(`http://127.0.0.1:${qdrantPort}/metrics`, {
      headers: { 'api-key': KEYS.qdrant },
    });
    expect(holder.status).toBe(200);
  });

  it.each([
    ['202', 'pending'],
    ['203', 'configuring'],
    ['204', 'cancelled'],
  ])('a %s (%s) service answers 200 with the status gauge alone', async (id, status) => {
    for (const route of [`vllm/${id}/metrics`, `${id}/metrics`]) {
      const scraped = await scrape(route);
      expect(scraped.status).toBe(200);
      expectPrometheusText(scraped.type);
      expect(scraped.text).toBe(
        '# HELP aiplane_service_up Whether the service is running (1) or not (0); the status label says which state it is in.\n' +
          '# TYPE aiplane_service_up gauge\n' +
          `aiplane_service_up{service_id="${id}",status="${status}"} 0\n`,
      );
    }
  });

  it('answers 404 for unknown ids and for a service of the other kind, 400 for a bad id', async () => {
    for (const route of [
      '999/metrics',
      'vllm/999/metrics',
      'vector-db/999/metrics',
      'vllm/301/metrics',
      'vector-db/201/metrics',
    ]) {
      const scraped = await scrape(route);
      expect(scraped.status).toBe(404);
      expect(JSON.parse(scraped.text)).toMatchObject({ success: false, statusCode: 404 });
    }
    expect((await scrape('vllm/301/metrics')).text).toContain('vLLM service 301 not found');
    expect((await scrape('vector-db/201/metrics')).text).toContain('Vector DB service 201 not found');
    expect((await scrape('abc/metrics')).status).toBe(400);
  });

  it('a workload that refuses the scrape is a 503 and is marked down; the next scrape is the gauge', async () => {
    const refused = await scrape('205/metrics');
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.text)).toMatchObject({
      success: false,
      attempted_replicas: [expect.stringMatching(/^205:[0-9]+$/)],
    });
    expect((await registry.get('205'))?.ready).toBe(false);
    const next = await scrape('205/metrics');
    expect(next.status).toBe(200);
    expect(next.text).toContain('aiplane_service_up{service_id="205",status="configuring"} 0\n');
  });
});
