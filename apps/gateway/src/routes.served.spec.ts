import {
  EXAMPLE_BODIES,
  exampleQuery,
  examplePath,
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
const openApiPath = (path: string): string => path.replace(/:(\w+)/g, '{$1}');
const capitalised = (group: string): string => `${group.charAt(0).toUpperCase()}${group.slice(1)}`;

describe('the gateway serves the route table', () => {
  const orchestrator = new StandInOrchestrator();
  let gateway: RunningGateway;
  let paths: Record<string, Record<string, { operationId: string; deprecated?: boolean }>>;

  beforeAll(async () => {
    await orchestrator.start();
    gateway = await startGateway({ ORCHESTRATOR_URL: orchestrator.url, UPSTREAM_TIMEOUT_MS: '1000' });
    const document = (await (await fetch(`${gateway.url}/docs-json`)).json()) as { paths: typeof paths };
    paths = document.paths;
  });

  afterAll(async () => {
    await gateway.close();
    await orchestrator.close();
  });

  beforeEach(() => {
    orchestrator.reset();
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

  it('documents nothing the table lacks', () => {
    const table = onGateway.map((id) => `${routeDef(id).method} ${openApiPath(routeDef(id).gateway ?? '')}`);
    const documented = Object.entries(paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(table.sort());
  });

  it.each(forwarded)(
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
    },
  );
});
