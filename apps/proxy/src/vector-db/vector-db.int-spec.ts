import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Redis } from 'ioredis';
import { createRedis, ServiceRegistry, type StoredService } from '@aiplane/registry';
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

// Real Redis, a real qdrant-sim process and the real proxy app: the vector-db data plane end to end.
const REDIS_URL = infraRedisUrl();
const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const SIM_MAIN = path.join(ROOT, 'dist/apps/qdrant-sim/src/main.js');
const prefix = `int-proxy-vdb-${process.pid}`;

const UUID = '5c56c793-69f3-4fbf-87e6-c4bf54c28c26';
const POINTS = [
  { id: 1, vector: [0.1, 0.2, 0.3, 0.4], payload: { text: 'First document' } },
  { id: 2, vector: [0.4, 0.5, 0.6, 0.7], payload: { text: 'Second document' } },
  { id: 'doc-α', vector: [0.9, 0.1, 0.0, 0.0], payload: { text: 'Third document', lang: 'el' } },
  { id: UUID, vector: [0.0, 0.0, 0.1, 0.9] },
];

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

// The simulator requires a key, as the worker starts workloads: every passing call below also proves
// that the proxy authenticates with the key from the record.
const API_KEY = 'qdrant-key-YmF6cXV4Zm9vYmFy';

async function startSim(port: number): Promise<ChildProcess> {
  if (!existsSync(SIM_MAIN)) throw new Error(`${SIM_MAIN} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [SIM_MAIN], {
    env: {
      PATH: '/usr/bin:/bin',
      QDRANT__SERVICE__API_KEY: API_KEY,
      QDRANT__SERVICE__HOST: '127.0.0.1',
      QDRANT__SERVICE__HTTP_PORT: String(port),
      QDRANT__SERVICE__GRPC_PORT: String(await freePort()),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let attempt = 0; attempt < 100; attempt += 1) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) return child;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  child.kill('SIGTERM');
  throw new Error('qdrant-sim did not start');
}

const service = (
  id: string,
  endpoint: string | null,
  overrides: Partial<StoredService> = {},
): StoredService =>
  storedService(id, {
    recipe_name: 'vector-db/qdrant',
    kind: 'qdrant',
    readiness_path: '/readyz',
    endpoint,
    ...overrides,
  });

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

describe('proxy vector-db data plane (real Redis, real qdrant-sim)', () => {
  let app: NestExpressApplication;
  let base: string;
  let redis: Redis;
  let registry: ServiceRegistry;
  let sim: ChildProcess | undefined;
  let simPort: number;

  beforeAll(async () => {
    redis = createRedis(REDIS_URL);
    registry = new ServiceRegistry(redis, prefix);
    simPort = await freePort();
    sim = await startSim(simPort);
    await registry.createService(service('301', `http://127.0.0.1:${simPort}`, { api_key: API_KEY }));
    await registry.createService(service('302', null, { scheduler_state: 'PENDING', ready: false }));
    await registry.createService(service('303', `http://127.0.0.1:${await freePort()}`));
    await registry.createService(
      service('304', `http://127.0.0.1:${simPort}`, { kind: 'vllm', api_key: API_KEY }),
    );
    // A record without the key (as from before keys existed): the workload refuses the proxy.
    await registry.createService(service('305', `http://127.0.0.1:${simPort}`));
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
    base = `${await app.getUrl()}/api/services/vector-db`;
  });

  afterAll(async () => {
    await app.close();
    sim?.kill('SIGTERM');
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  async function call(method: string, route: string, body?: unknown): Promise<Answer> {
    const response = await proxyFetch(`${base}${route}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it("runs the document's flow: create, list, inspect, upsert, search, conflict, delete", async () => {
    expect(await call('GET', '/301/collections')).toEqual({
      status: 200,
      body: { success: true, collections: [], service_id: '301' },
    });

    const created = await call('PUT', '/301/collections/my_documents', { vector_size: 4 });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      success: true,
      collection_name: 'my_documents',
      distance: 'Cosine',
    });

    expect((await call('GET', '/301/collections')).body.collections).toEqual(['my_documents']);

    const info = await call('GET', '/301/collections/my_documents');
    expect(info.status).toBe(200);
    expect(info.body).toMatchObject({
      success: true,
      collection_info: { config: { params: { vectors: { size: 4, distance: 'Cosine' } } } },
    });

    const upserted = await call('PUT', '/301/collections/my_documents/points', { points: POINTS });
    expect(upserted.status).toBe(200);
    expect(upserted.body).toMatchObject({ success: true, upserted: 4 });
    expect(
      (await call('GET', '/301/collections/my_documents')).body.collection_info as Record<string, unknown>,
    ).toMatchObject({ points_count: 4 });

    const search = await call('POST', '/301/collections/my_documents/points/search', {
      query_vector: [0.1, 0.2, 0.3, 0.4],
      limit: 5,
    });
    expect(search.status).toBe(200);
    expect(search.body.success).toBe(true);
    expect(search.body.num_results).toBe(4);
    expect(search.body.result).toEqual(search.body.results);
    const hits = search.body.results as { id: unknown; score: number; payload: unknown }[];
    expect(hits[0]).toMatchObject({ id: 1, payload: { text: 'First document' } });
    expect(hits[0]?.score).toBeCloseTo(1, 5);
    expect(hits.map((hit) => hit.id).sort()).toEqual([1, 2, UUID, 'doc-α'].sort());
    expect(hits.find((hit) => hit.id === 'doc-α')?.payload).toEqual({ text: 'Third document', lang: 'el' });
    expect(hits.find((hit) => hit.id === UUID)?.payload).toEqual({});
    expect(JSON.stringify(search.body)).not.toContain('_aiplane_id');

    const again = await call('PUT', '/301/collections/my_documents', { vector_size: 4, distance: 'Cosine' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ success: false, error: 'Conflict' });
    expect(String(again.body.message)).toContain("'my_documents' already exists");

    const deleted = await call('DELETE', '/301/collections/my_documents');
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ success: true, collection_name: 'my_documents' });
    const gone = await call('GET', '/301/collections/my_documents');
    expect(gone.status).toBe(404);
    expect(gone.body).toMatchObject({ success: false, error: 'Not Found' });
    expect((await call('DELETE', '/301/collections/my_documents')).status).toBe(404);
    expect((await call('GET', '/301/collections')).body.collections).toEqual([]);
  });

  describe('with a collection', () => {
    beforeAll(async () => {
      await call('PUT', '/301/collections/more', { vector_size: 4, distance: 'Dot' });
      await call('PUT', '/301/collections/more/points', { points: POINTS });
    });

    it('gives string ids back without payloads when none are asked for, and applies filters', async () => {
      const bare = await call('POST', '/301/collections/more/points/search', {
        query_vector: [0.9, 0.1, 0.0, 0.0],
        limit: 2,
        with_payload: false,
      });
      expect(bare.status).toBe(200);
      expect(bare.body.num_results).toBe(2);
      expect((bare.body.results as { id: unknown; payload: unknown }[])[0]).toMatchObject({
        id: 'doc-α',
        payload: null,
      });

      const filtered = await call('POST', '/301/collections/more/points/search', {
        query_vector: [0.1, 0.2, 0.3, 0.4],
        filter: { must: [{ key: 'lang', match: { value: 'el' } }] },
      });
      expect((filtered.body.results as { id: unknown }[]).map((hit) => hit.id)).toEqual(['doc-α']);
    });

    it('updates a string-id point in place rather than adding another', async () => {
      const upserted = await call('PUT', '/301/collections/more/points', {
        points: [{ id: 'doc-α', vector: [0.9, 0.1, 0.0, 0.0], payload: { text: 'Edited' } }],
      });
      expect(upserted.status).toBe(200);
      const info = await call('GET', '/301/collections/more');
      expect(info.body.collection_info).toMatchObject({ points_count: 4 });
    });

    it('refuses vectors of the wrong length with a 400 naming them, writing nothing', async () => {
      const upsert = await call('PUT', '/301/collections/more/points', {
        points: [
          { id: 10, vector: [1, 2, 3, 4] },
          { id: 'short', vector: [1, 2, 3] },
        ],
      });
      expect(upsert.status).toBe(400);
      expect(upsert.body).toMatchObject({ success: false, error: 'Bad Request' });
      expect(String(upsert.body.message)).toContain('points[1] (id "short") has 3');
      expect((await call('GET', '/301/collections/more')).body.collection_info).toMatchObject({
        points_count: 4,
      });

      const search = await call('POST', '/301/collections/more/points/search', { query_vector: [1, 2, 3] });
      expect(search.status).toBe(400);
      expect(String(search.body.message)).toContain('expected dim: 4, got 3');
    });

    it('refuses bad names, bad bodies and the reserved payload key before calling Qdrant', async () => {
      expect((await call('GET', '/301/collections/a.b')).status).toBe(400);
      const reserved = await call('PUT', '/301/collections/more/points', {
        points: [{ id: 1, vector: [1, 2, 3, 4], payload: { _aiplane_id: 'x' } }],
      });
      expect(reserved.status).toBe(400);
      expect(String(reserved.body.message)).toContain('_aiplane_id');
      const distance = await call('PUT', '/301/collections/c', { vector_size: 4, distance: 'Hamming' });
      expect(distance.status).toBe(400);
      expect((await call('GET', '/301/collections')).body.collections).toEqual(['more']);
    });

    it('answers 404 for points sent to a collection that does not exist', async () => {
      const response = await call('PUT', '/301/collections/nope/points', { points: POINTS });
      expect(response.status).toBe(404);
      expect(response.body.message).toBe("Collection 'nope' not found in Vector DB service 301");
    });
  });

  it('the workload itself refuses callers without its key: only the proxy can use it', async () => {
    const direct = `http://127.0.0.1:${simPort}`;
    expect((await fetch(`${direct}/collections`)).status).toBe(401);
    expect((await fetch(`${direct}/collections`, { headers: { 'api-key': 'guessed' } })).status).toBe(401);
    expect((await fetch(`${direct}/metrics`)).status).toBe(401);
    // The readiness path stays open: the prober needs no key.
    expect((await fetch(`${direct}/readyz`)).status).toBe(200);
    expect((await fetch(`${direct}/collections`, { headers: { 'api-key': API_KEY } })).status).toBe(200);
  });

  it("answers 502 when the workload refuses the proxy's credentials: the service's fault, not the request's", async () => {
    const response = await call('GET', '/305/collections');
    expect(response.status).toBe(502);
    expect(String(response.body.message)).toContain('refused access (HTTP 401)');
  });

  it('says why a service that is not running cannot be used', async () => {
    const response = await call('GET', '/302/collections');
    expect(response.status).toBe(503);
    expect(response.body).toMatchObject({ success: false, status: 'pending' });
  });

  it('refuses unknown ids and services of another kind with 404, bad ids with 400', async () => {
    expect((await call('GET', '/999/collections')).status).toBe(404);
    const vllm = await call('GET', '/304/collections');
    expect(vllm.status).toBe(404);
    expect(vllm.body.message).toBe('Vector DB service 304 not found');
    expect((await call('GET', '/abc/collections')).status).toBe(400);
  });

  it('marks a workload that refuses connections down at once', async () => {
    const response = await call('GET', '/303/collections');
    expect(response.status).toBe(503);
    expect(response.body).toMatchObject({
      success: false,
      attempted_replicas: [expect.stringMatching(/^303:/)],
    });
    expect((await registry.get('303'))?.ready).toBe(false);
  });
});
