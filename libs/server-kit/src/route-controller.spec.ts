import { Module } from '@nestjs/common';
import { ORCHESTRATOR_PREFIX } from '@aiplane/contracts';
import { BODY_DTOS } from '@aiplane/http-api';
import { withHttpApp } from '@aiplane/testing';
import { createHttpApp } from './bootstrap';
import { createLogger, loggerModule } from './logging';
import { CollectionNamePipe, NamePipe, ServiceIdPipe } from './params.pipe';
import { routeController, routesOf, type RouteCall, type RouteHandler } from './route-controller';

const calls: Omit<RouteCall, 'req' | 'res'>[] = [];

const HANDLER = Symbol('handler');
const recorder: RouteHandler = {
  handle: ({ req: _req, res, ...call }) => {
    calls.push(call);
    res.status(200).json({ ok: true });
    return Promise.resolve();
  },
};

const TestController = routeController({
  name: 'TestController',
  on: 'orchestrator',
  routes: ['services.logs', 'vectorDb.search'],
  handler: HANDLER,
  paramPipes: { serviceId: ServiceIdPipe, name: NamePipe, collection: CollectionNamePipe },
  bodies: BODY_DTOS,
});

const logger = createLogger('test', 'silent');

@Module({
  imports: [loggerModule(logger)],
  controllers: [TestController],
  providers: [{ provide: HANDLER, useValue: recorder }],
})
class TestModule {}

describe('routeController', () => {
  const server = withHttpApp(() => createHttpApp(TestModule, { logger }));

  beforeEach(() => {
    calls.length = 0;
  });

  const post = (path: string, body: unknown): Promise<Response> =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('registers each route at its path on the hop, as routesOf reads it back', () => {
    expect(routesOf(TestModule, ORCHESTRATOR_PREFIX)).toEqual([
      { method: 'GET', path: '/api/services/:id/logs', handler: 'TestController.logs' },
      {
        method: 'POST',
        path: '/api/services/vector-db/:id/collections/:name/points/search',
        handler: 'TestController.search',
      },
    ]);
  });

  it('hands the handler the checked parameters, the declared query only, and the validated body', async () => {
    expect((await fetch(`${server.url}/api/services/7/logs?lines=20&follow=true&debug=1`)).status).toBe(200);
    const search = await post('/api/services/vector-db/sg-7/collections/docs/points/search', {
      query_vector: [1, 2],
    });
    expect(search.status).toBe(200);
    expect(calls).toEqual([
      expect.objectContaining({
        id: 'services.logs',
        params: { id: '7' },
        query: { lines: 20, follow: true },
      }),
      expect.objectContaining({
        id: 'vectorDb.search',
        params: { id: 'sg-7', name: 'docs' },
        query: {},
        body: expect.objectContaining({ query_vector: [1, 2] }),
      }),
    ]);
  });

  it.each([
    ['a bad service id', '/api/services/vector-db/x/collections/docs/points/search', { query_vector: [1] }],
    [
      'a bad collection name',
      '/api/services/vector-db/7/collections/a.b/points/search',
      { query_vector: [1] },
    ],
    [
      'an unknown body field',
      '/api/services/vector-db/7/collections/docs/points/search',
      { query_vector: [1], x: 1 },
    ],
  ])('answers 400 to %s without calling the handler', async (_what, path, body) => {
    const res = await post(path, body);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(calls).toEqual([]);
  });

  it('answers 400 to a query value out of its bounds', async () => {
    expect((await fetch(`${server.url}/api/services/7/logs?lines=0`)).status).toBe(400);
    expect(calls).toEqual([]);
  });
});
