import { Module } from '@nestjs/common';
import type { ServiceRecord } from '@aiplane/contracts';
import { createHttpApp, createLogger, loggerModule } from '@aiplane/server-kit';
import { serveHttpApp, type ServedHttpApp } from '@aiplane/testing';
import { PROXY_FORWARDER } from '../platform/platform.module';
import { ServicesController } from '../services/services.controller';
import { ServicesService } from '../services/services.service';
import { ProxyRouteForwarder } from '../data-plane/proxy-route.forwarder';
import { StandInProxy } from '../testing/stand-in-proxy';
import { VectorDbController } from './vector-db.controller';

// The orchestrator's vector-db routes with a stand-in proxy: what reaches the proxy, and what is refused first.
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
  controllers: [ServicesController, VectorDbController],
  providers: [
    ProxyRouteForwarder,
    { provide: ServicesService, useValue: standInServices },
    { provide: PROXY_FORWARDER, useValue: standInProxy },
  ],
})
class TestModule {}

describe('orchestrator vector-db routes', () => {
  let served: ServedHttpApp;
  let base: string;

  beforeAll(async () => {
    served = await serveHttpApp(() => createHttpApp(TestModule, { logger }));
    base = `${served.url}/api/services`;
  });

  afterAll(async () => {
    await served.close();
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
    expect(forwarded).toEqual([{ method, path: `/api/services${path}`, body }]);
  });

  it('sends only the path on, never a query string the route does not take', async () => {
    expect((await send('GET', '/vector-db/7/collections?x=1&y=%2F..')).status).toBe(200);
    expect(forwarded).toEqual([
      { method: 'GET', path: '/api/services/vector-db/7/collections', body: undefined },
    ]);
  });

  it.each([
    ['GET', '/vector-db/x1/collections', undefined, /service id/],
    ['GET', '/vector-db/7/collections/a.b', undefined, /collection name must be 1-255 characters/],
    ['DELETE', `/vector-db/7/collections/${'a'.repeat(256)}`, undefined, /collection name/],
    ['PUT', '/vector-db/7/collections/c', { vector_size: 0 }, /vector_size/],
    ['PUT', '/vector-db/7/collections/c', { vector_size: 4, distance: 'Hamming' }, /distance/],
    ['PUT', '/vector-db/7/collections/c', { vector_size: 4, extra: 1 }, /extra/],
    ['PUT', '/vector-db/7/collections/c/points', { points: [] }, /points/],
    ['PUT', '/vector-db/7/collections/c/points', { points: [{ id: -1, vector: [1] }] }, /id/],
    [
      'PUT',
      '/vector-db/7/collections/c/points',
      { points: [{ id: 1, vector: [1], payload: { _aiplane_id: 'x' } }] },
      /_aiplane_id/,
    ],
    ['POST', '/vector-db/7/collections/c/points/search', { query_vector: [1], limit: 0 }, /limit/],
    ['POST', '/vector-db/7/collections/c/points/search', { query_vector: [] }, /query_vector/],
  ])('refuses %s %s with a 400 before the proxy is called', async (method, path, body, message) => {
    const response = await send(method, path, body);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ success: false, statusCode: 400, error: 'Bad Request' });
    expect(String(response.body.message)).toMatch(message);
    expect(forwarded).toEqual([]);
  });
});
