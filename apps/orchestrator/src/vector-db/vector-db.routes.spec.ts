import { Module } from '@nestjs/common';
import type { ServiceRecord } from '@aiplane/contracts';
import { createLogger, loggerModule } from '@aiplane/server-kit';
import { serveHttpApp, type ServedHttpApp } from '@aiplane/testing';
import { createOrchestratorApp } from '../orchestrator.app';
import { loadOrchestratorConfig } from '../orchestrator.config';
import { ServicesController } from '../services/services.controller';
import { ServicesService } from '../services/services.service';
import { StandInProxy } from '../testing/stand-in-proxy';

// The orchestrator's vector-db routes: the service list from Nest, the rest streamed by the
// pass-through to a stand-in proxy. What reaches the proxy, and what is refused first.
const standInProxy = new StandInProxy();
const { forwarded } = standInProxy;

// What listByKind gives: the summary fields of each record.
function summary(id: string, status: ServiceRecord['status']): Record<string, unknown> {
  return {
    id,
    name: `vector-db/qdrant-${id}`,
    recipe_name: 'vector-db/qdrant',
    endpoint: status === 'running' ? 'http://node1:6333' : null,
    status,
  };
}

const standInServices = {
  listByKind: (kind: string): Promise<Record<string, unknown>[]> =>
    Promise.resolve(kind === 'qdrant' ? [summary('11', 'running'), summary('12', 'pending')] : []),
};

const logger = createLogger('orchestrator', 'silent');

@Module({
  imports: [loggerModule(logger)],
  controllers: [ServicesController],
  providers: [{ provide: ServicesService, useValue: standInServices }],
})
class TestModule {}

describe('orchestrator vector-db routes', () => {
  let served: ServedHttpApp;
  let base: string;

  beforeAll(async () => {
    await standInProxy.start();
    const config = loadOrchestratorConfig({
      LOG_LEVEL: 'silent',
      PROXY_URL: standInProxy.url,
      ORCHESTRATOR_TOKEN: 'orchestrator-spec-token-0123456789abcdef',
    });
    served = await serveHttpApp(() =>
      createOrchestratorApp(config, logger, { module: TestModule, guard: false }),
    );
    base = `${served.url}/api/services`;
  });

  afterAll(async () => {
    await served.close();
    await standInProxy.close();
  });

  beforeEach(() => {
    forwarded.length = 0;
  });

  async function send(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it('lists the Qdrant services in the contract shape', async () => {
    expect(await send('GET', '/vector-db/services')).toEqual({
      status: 200,
      body: {
        vector_db_services: [
          {
            id: '11',
            name: 'vector-db/qdrant-11',
            recipe_name: 'vector-db/qdrant',
            endpoint: 'http://node1:6333',
            status: 'running',
          },
          {
            id: '12',
            name: 'vector-db/qdrant-12',
            recipe_name: 'vector-db/qdrant',
            endpoint: null,
            status: 'pending',
          },
        ],
      },
    });
  });

  it.each([
    ['GET', '/vector-db/7/collections', undefined],
    ['GET', '/vector-db/7/collections/my_documents', undefined],
    ['PUT', '/vector-db/7/collections/my_documents', { vector_size: 4 }],
    ['DELETE', '/vector-db/7/collections/my_documents', undefined],
    ['PUT', '/vector-db/7/collections/my_documents/points', { points: [{ id: 'doc-1', vector: [1, 2] }] }],
    ['POST', '/vector-db/7/collections/my_documents/points/search', { query_vector: [1, 2], limit: 5 }],
    ['GET', '/vector-db/7/metrics', undefined],
  ])('forwards %s %s to the proxy at the same path, body unchanged', async (method, path, body) => {
    expect((await send(method, path, body)).status).toBe(200);
    expect(forwarded.map((request) => [request.method, request.url, request.body])).toEqual([
      [method, `/api/services${path}`, body === undefined ? '' : JSON.stringify(body)],
    ]);
  });

  it('sends only the path on, never a query string the route does not take', async () => {
    expect((await send('GET', '/vector-db/7/collections?x=1&y=%2F..')).status).toBe(200);
    expect(forwarded.map((request) => request.url)).toEqual(['/api/services/vector-db/7/collections']);
  });

  it('refuses a malformed service id with a 400 before the proxy is called', async () => {
    const response = await send('GET', '/vector-db/x1/collections');
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ success: false, statusCode: 400, error: 'Bad Request' });
    expect(String(response.body.message)).toMatch(/service id/);
    expect(forwarded).toEqual([]);
  });

  // The proxy is the one hop that reads a data-plane body or checks a collection name (CONTRACT
  // "Parsing"): the orchestrator streams the request on untouched and relays the proxy's verdict.
  it.each([
    ['GET', '/vector-db/7/collections/a.b', undefined],
    ['DELETE', `/vector-db/7/collections/${'a'.repeat(256)}`, undefined],
    ['PUT', '/vector-db/7/collections/c', { vector_size: 0 }],
    ['PUT', '/vector-db/7/collections/c', { vector_size: 4, distance: 'Hamming' }],
    ['PUT', '/vector-db/7/collections/c', { vector_size: 4, extra: 1 }],
    ['PUT', '/vector-db/7/collections/c/points', { points: [] }],
    ['PUT', '/vector-db/7/collections/c/points', { points: [{ id: -1, vector: [1] }] }],
    [
      'PUT',
      '/vector-db/7/collections/c/points',
      { points: [{ id: 1, vector: [1], payload: { _aiplane_id: 'x' } }] },
    ],
    ['POST', '/vector-db/7/collections/c/points/search', { query_vector: [1], limit: 0 }],
    ['POST', '/vector-db/7/collections/c/points/search', { query_vector: [] }],
  ])('passes %s %s on to the proxy to judge', async (method, path, body) => {
    expect((await send(method, path, body)).status).toBe(200);
    expect(forwarded.map((request) => [request.method, request.url])).toEqual([
      [method, `/api/services${path}`],
    ]);
  });
});
