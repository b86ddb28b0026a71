import {
  EXAMPLE_BODIES,
  exampleQuery,
  examplePath,
  matchPassThrough,
  methodOn,
  pathPattern,
  routeDef,
  routeIds,
  type RouteId,
} from '@aiplane/contracts';
import { StandInOrchestrator } from './testing/stand-in-orchestrator';
import { startGateway, type RunningGateway } from './testing/gateway-harness';

const onGateway = routeIds().filter((id) => pathPattern(id, 'gateway') !== undefined);
const forwarded = onGateway.filter((id) => routeDef(id).orchestrator !== undefined);
/** The data plane: streamed to the proxy by the pass-through. */
const proxied = forwarded.filter((id) => routeDef(id).proxy !== undefined);
const controlPlane = forwarded.filter((id) => routeDef(id).proxy === undefined);
const openApiPath = (path: string): string => path.replace(/:(\w+)/g, '{$1}');
const capitalised = (group: string): string => `${group.charAt(0).toUpperCase()}${group.slice(1)}`;

/** Pass-through paths outside the table, as Swagger documents them, with an example and the proxy's path. */
const PASS_THROUGH_DOCS: readonly [method: string, documented: string, example: string, proxy: string][] = [
  ['GET', '/v1/models', '/v1/models', '/v1/models'],
  ['POST', '/v1/chat/completions', '/v1/chat/completions', '/v1/chat/completions'],
  ['POST', '/v1/completions', '/v1/completions', '/v1/completions'],
  ['POST', '/v1/embeddings', '/v1/embeddings', '/v1/embeddings'],
  ['GET', '/api/v1/vllm/{id}/v1/models', '/api/v1/vllm/7/v1/models', '/api/services/vllm/7/v1/models'],
  [
    'POST',
    '/api/v1/vllm/{id}/v1/chat/completions',
    '/api/v1/vllm/sg-7/v1/chat/completions',
    '/api/services/vllm/sg-7/v1/chat/completions',
  ],
  [
    'POST',
    '/api/v1/vllm/{id}/v1/completions',
    '/api/v1/vllm/7/v1/completions',
    '/api/services/vllm/7/v1/completions',
  ],
  [
    'POST',
    '/api/v1/vllm/{id}/v1/embeddings',
    '/api/v1/vllm/7/v1/embeddings',
    '/api/services/vllm/7/v1/embeddings',
  ],
  ...(['GET', 'PUT', 'POST', 'PATCH', 'DELETE'] as const).map(
    (method) =>
      [
        method,
        '/api/v1/vector-db/{id}/qdrant/{path}',
        '/api/v1/vector-db/9/qdrant/collections/docs/points?wait=true',
        '/api/services/vector-db/9/qdrant/collections/docs/points?wait=true',
      ] as [string, string, string, string],
  ),
];

describe('the gateway serves the route table', () => {
  const orchestrator = new StandInOrchestrator();
  // The same echoing stand-in, in the proxy's place.
  const proxy = new StandInOrchestrator();
  let gateway: RunningGateway;
  let paths: Record<string, Record<string, { operationId: string; deprecated?: boolean }>>;

  beforeAll(async () => {
    await orchestrator.start();
    await proxy.start();
    gateway = await startGateway({
      ORCHESTRATOR_URL: orchestrator.url,
      PROXY_URL: proxy.url,
      UPSTREAM_TIMEOUT_MS: '1000',
    });
    const document = (await (await fetch(`${gateway.url}/docs-json`)).json()) as { paths: typeof paths };
    paths = document.paths;
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

  it.each(onGateway)(
    '%s is in the OpenAPI document under its path, method and operation id',
    (id: RouteId) => {
      const route = routeDef(id);
      const operation = paths[openApiPath(route.gateway ?? '')]?.[route.method.toLowerCase()];
      const [group = '', name = ''] = id.split('.');
      expect(operation?.operationId).toBe(`${capitalised(group)}_${name}`);
      expect(operation?.deprecated).toBe(route.successor === undefined ? undefined : true);
    },
  );

  it('documents nothing but the table and the pass-through routes outside it', () => {
    const table = onGateway.map((id) => `${routeDef(id).method} ${openApiPath(routeDef(id).gateway ?? '')}`);
    const passThrough = PASS_THROUGH_DOCS.map(([method, documented]) => `${method} ${documented}`);
    const documented = Object.entries(paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual([...table, ...passThrough].sort());
  });

  it.each(PASS_THROUGH_DOCS)(
    '%s %s is a pass-through route (its example: %s)',
    (method, _doc, example, path) => {
      expect(matchPassThrough('gateway', method, example)?.proxyPath).toBe(path);
    },
  );

  it.each(controlPlane)(
    '%s reaches the orchestrator at the path and with the method the table gives',
    async (id) => {
      const route = routeDef(id);
      const body = route.body === undefined ? undefined : EXAMPLE_BODIES[route.body];
      const res = await fetch(`${gateway.url}${examplePath(id, 'gateway')}${exampleQuery(id)}`, {
        method: route.method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      expect(res.status).toBe(200);
      expect(orchestrator.forwarded().map(({ method, url }) => `${method} ${url}`)).toEqual([
        `${methodOn(id, 'orchestrator')} ${examplePath(id, 'orchestrator')}${exampleQuery(id)}`,
      ]);
      expect(proxy.forwarded()).toHaveLength(0);
    },
  );

  // Nest would parse the body and re-serialise it, and send it to the orchestrator: a body that
  // reaches the proxy byte for byte, with nothing at the orchestrator, was never in Nest's hands.
  it.each(proxied)(
    '%s is intercepted before Nest and streamed to the proxy at the table’s path, the body byte for byte',
    async (id) => {
      const route = routeDef(id);
      const body = route.body === undefined ? undefined : `  ${JSON.stringify(EXAMPLE_BODIES[route.body])}\n`;
      const res = await fetch(`${gateway.url}${examplePath(id, 'gateway')}${exampleQuery(id)}`, {
        method: route.method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body,
      });
      expect(res.status).toBe(200);
      expect(orchestrator.forwarded()).toHaveLength(0);
      const query = route.query === undefined ? '' : exampleQuery(id);
      expect(proxy.forwarded().map(({ method, url, body: sent }) => [method, url, sent])).toEqual([
        [methodOn(id, 'orchestrator'), `${examplePath(id, 'proxy')}${query}`, body ?? ''],
      ]);
    },
  );

  it.each(PASS_THROUGH_DOCS)('%s %s is intercepted before Nest (%s)', async (method, _doc, example, path) => {
    const body = method === 'GET' || method === 'DELETE' ? undefined : ' {"model": "m"} ';
    const res = await fetch(`${gateway.url}${example}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(200);
    expect(orchestrator.forwarded()).toHaveLength(0);
    expect(proxy.forwarded().map(({ url, body: sent }) => [url, sent])).toEqual([[path, body ?? '']]);
  });
});
