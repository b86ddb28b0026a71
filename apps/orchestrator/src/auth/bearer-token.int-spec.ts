import type { Redis } from 'ioredis';
import { examplePath, methodOn, routeDef, routeIds, type RouteId } from '@aiplane/contracts';
import { createRedis } from '@aiplane/registry';
import { startOrchestrator, type RunningOrchestrator } from '../testing/orchestrator.harness';
import { StandInProxy } from '../testing/stand-in-proxy';
import { infraRedisUrl } from '@aiplane/testing';

// The real orchestrator app (real Redis) with its bearer token, and a stand-in in the proxy's place:
// on-cluster clients reach the data plane through the same token check as the control plane, and
// the proxy hears the proxy's token, never the client's.
const REDIS_URL = infraRedisUrl();
const prefix = `int-orch-token-${process.pid}`;
const TOKEN = 'orchestrator-token-0123456789abcdef';
const PROXY_TOKEN = 'proxy-token-abcdefghijklmnop-0123456';

const proxied = routeIds().filter((id) => routeDef(id).proxy !== undefined && routeDef(id).orchestrator);
/** Pass-through paths outside the route table. */
const OUTSIDE_TABLE: [method: string, path: string][] = [
  ['GET', '/v1/models'],
  ['POST', '/v1/chat/completions'],
  ['POST', '/v1/completions'],
  ['POST', '/v1/embeddings'],
  ['POST', '/api/services/vllm/7/v1/chat/completions'],
  ['PUT', '/api/services/vector-db/9/qdrant/collections/docs/points?wait=true'],
];
const DATA_PLANE: [method: string, path: string][] = [
  ...OUTSIDE_TABLE,
  ...proxied.map((id: RouteId): [string, string] => [
    methodOn(id, 'orchestrator'),
    examplePath(id, 'orchestrator'),
  ]),
];

describe('the orchestrator’s bearer token on pass-through paths (real app, real Redis)', () => {
  const proxy = new StandInProxy();
  let orchestrator: RunningOrchestrator;
  let redis: Redis;

  beforeAll(async () => {
    redis = createRedis(REDIS_URL);
    await proxy.start();
    orchestrator = await startOrchestrator(
      {
        REDIS_URL,
        REDIS_PREFIX: prefix,
        ORCHESTRATOR_TOKEN: TOKEN,
        PROXY_TOKEN,
        PROXY_URL: proxy.url,
      },
      { guard: true },
    );
  });

  afterAll(async () => {
    await orchestrator.close();
    await proxy.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  beforeEach(() => {
    proxy.forwarded.length = 0;
  });

  const send = (method: string, path: string, authorization?: string) =>
    fetch(`http://${orchestrator.hostPort}${path}`, {
      method,
      headers: {
        ...(authorization === undefined ? {} : { authorization }),
        ...(method === 'GET' || method === 'DELETE' ? {} : { 'content-type': 'application/json' }),
      },
      body: method === 'GET' || method === 'DELETE' ? undefined : '{"model":"m","prompt":"hi"}',
    });

  it.each(DATA_PLANE)('%s %s without the token → 401, nothing forwarded', async (method, path) => {
    const res = await send(method, path);
    expect(res.status).toBe(401);
    const body = (await res.json()) as Record<string, unknown>;
    if (path.startsWith('/v1') || path.includes('/v1/')) {
      expect(body).toEqual({
        error: {
          message: 'A valid "Authorization: Bearer <token>" header is required',
          type: 'authentication_error',
          code: 'invalid_api_key',
        },
      });
    } else {
      expect(body).toMatchObject({ success: false, statusCode: 401, error: 'Unauthorized' });
    }
    expect(res.headers.get('x-aiplane-overhead-ms')).toMatch(/^\d+\.\d$/);
    expect(proxy.forwarded).toEqual([]);
  });

  it.each(DATA_PLANE)('%s %s with a wrong token → 401', async (method, path) => {
    expect((await send(method, path, `Bearer ${TOKEN}x`)).status).toBe(401);
    expect(proxy.forwarded).toEqual([]);
  });

  it.each(DATA_PLANE)(
    '%s %s with the token reaches the proxy with the proxy’s token, not the client’s',
    async (method, path) => {
      const res = await send(method, path, `Bearer ${TOKEN}`);
      expect(res.status).toBe(200);
      expect(proxy.forwarded).toHaveLength(1);
      expect(proxy.forwarded[0]?.headers.authorization).toBe(`Bearer ${PROXY_TOKEN}`);
    },
  );

  it('still guards the control plane, whose answers carry the overhead header too', async () => {
    const refused = await send('GET', '/api/services');
    expect(refused.status).toBe(401);
    expect(refused.headers.get('x-aiplane-overhead-ms')).toMatch(/^\d+\.\d$/);
    const allowed = await send('GET', '/api/services', `Bearer ${TOKEN}`);
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('x-aiplane-overhead-ms')).toMatch(/^\d+\.\d$/);
    expect(proxy.forwarded).toEqual([]);
  });
});
