import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { matchPassThrough } from './data-plane';
import { COLLECTION_NAME_PATTERN } from './vector-db';
import {
  examplePath,
  pathPattern,
  routeDef,
  routeIds,
  routePath,
  ROUTES,
  type Hop,
  type RouteId,
  type RouteParamKind,
} from './routes';
import { SERVICE_ID_PATTERN } from './service-id';

const HOPS: Hop[] = ['gateway', 'orchestrator', 'proxy'];

const served = (on: Hop): RouteId[] => routeIds().filter((id) => pathPattern(id, on) !== undefined);
const methodOn = (id: RouteId, on: Hop): string =>
  on === 'gateway' ? routeDef(id).method : (routeDef(id).orchestrator?.method ?? '');

/** The operations of the committed OpenAPI document, `METHOD /path` with `{param}` segments. */
function documentedOperations(): string[] {
  const file = join(__dirname, '..', '..', '..', 'docs', 'openapi.json');
  const document = JSON.parse(readFileSync(file, 'utf8')) as { paths: Record<string, object> };
  return Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
  );
}

const openApiPath = (pattern: string): string => pattern.replace(/:([A-Za-z_]\w*)/g, '{$1}');

/**
 * A documented operation the pass-through serves that the table does not hold (the OpenAI routes,
 * the Qdrant pass-through): its path, parameters filled, names a pass-through with no table route.
 */
function passThroughOnly(operation: string): boolean {
  const [method = '', path = ''] = operation.split(' ');
  const example = path.replace('{id}', '7').replace(/\{\w+\}/g, 'collections');
  const match = matchPassThrough('gateway', method, example);
  return match !== undefined && match.routeId === undefined;
}

describe('the route table', () => {
  it('has an entry for every operation of the OpenAPI document but the pass-through-only ones, and nothing the gateway does not document', () => {
    const table = served('gateway').map(
      (id) => `${routeDef(id).method} ${openApiPath(pathPattern(id, 'gateway') ?? '')}`,
    );
    const documented = documentedOperations();
    expect(table.sort()).toEqual(documented.filter((operation) => !passThroughOnly(operation)).sort());
    // Those are the OpenAI routes (root and per service) and the Qdrant pass-through, nothing else.
    const outside = /^[A-Z]+ (\/v1\/|\/api\/v1\/vllm\/\{id\}\/v1\/|\/api\/v1\/vector-db\/\{id\}\/qdrant\/)/;
    expect(documented.filter(passThroughOnly).filter((operation) => !outside.test(operation))).toEqual([]);
  });

  // server-api.md, "API Endpoint Translation": the paths the user's document names on both sides.
  it.each([
    ['POST /api/v1/services', 'POST /api/services/start', 'services.create'],
    ['GET /api/v1/services', 'GET /api/services', 'services.list'],
    ['DELETE /api/v1/services/{id}', 'POST /api/services/stop/{id}', 'services.stop'],
    ['POST /api/v1/services/{id}/status', 'POST /api/services/{id}/status', 'services.updateStatus'],
    ['POST /api/v1/vllm/{id}/prompt', 'POST /api/services/vllm/{id}/prompt', 'vllm.prompt'],
  ] as const)('maps %s to %s as the document says', (gateway, orchestrator, id) => {
    const route = routeDef(id);
    expect(`${route.method} ${openApiPath(route.gateway ?? '')}`).toBe(gateway);
    expect(`${route.orchestrator?.method ?? ''} ${openApiPath(route.orchestrator?.path ?? '')}`).toBe(
      orchestrator,
    );
  });

  // CONTRACT.md, "Topology and ports": the orchestrator's families of paths.
  it.each([
    'POST /api/services/start',
    'GET /api/services',
    'POST /api/services/stop/:id',
    'POST /api/services/vllm/:id/prompt',
    'GET /api/services/:id',
    'GET /api/services/:id/status',
    'GET /api/services/:id/logs',
    'GET /api/service-groups/:id',
    'GET /api/recipes/:name',
    'GET /api/services/vector-db/:id/collections',
    'GET /api/services/:id/metrics',
  ])('lists the orchestrator route %s', (operation) => {
    expect(
      served('orchestrator').map(
        (id) => `${methodOn(id, 'orchestrator')} ${pathPattern(id, 'orchestrator') ?? ''}`,
      ),
    ).toContain(operation);
  });

  it('sends every data-plane route on to the proxy at the path the orchestrator serves it', () => {
    for (const id of served('proxy')) expect(pathPattern(id, 'proxy')).toBe(pathPattern(id, 'orchestrator'));
    expect(served('proxy')).toEqual(expect.arrayContaining(['vllm.prompt', 'vectorDb.search']));
  });

  it('keeps every gateway route under /api/v1 and every upstream one under /api, except the health checks', () => {
    for (const id of served('gateway')) {
      if (routeDef(id).tag !== 'health') expect(pathPattern(id, 'gateway')).toMatch(/^\/api\/v1\//);
    }
    for (const id of [...served('orchestrator'), ...served('proxy')]) {
      expect(pathPattern(id, 'orchestrator')).toMatch(/^\/api\/(?!v1\/)/);
    }
  });

  it('declares exactly the parameters the gateway path names', () => {
    for (const id of routeIds()) {
      const path = pathPattern(id, 'gateway') ?? pathPattern(id, 'orchestrator') ?? '';
      const named = [...path.matchAll(/:(\w+)/g)].map((match) => match[1]);
      expect([id, named]).toEqual([id, Object.keys(routeDef(id).params ?? {})]);
    }
  });

  it('names successors that exist and take the same parameters', () => {
    for (const id of routeIds()) {
      const { successor, params } = routeDef(id);
      if (successor === undefined) continue;
      expect(Object.keys(ROUTES)).toContain(successor);
      expect(routeDef(successor as RouteId).params).toEqual(params);
    }
  });

  describe.each(HOPS)('on the %s', (on) => {
    const ids = served(on);
    const segments = (id: RouteId): string[] => (pathPattern(id, on) ?? '').split('/').slice(1);

    it('has no two routes that one request could match', () => {
      for (const [i, a] of ids.entries()) {
        for (const b of ids.slice(i + 1)) {
          const clash = methodOn(a, on) === methodOn(b, on) && overlap(a, segments(a), b, segments(b));
          expect(clash ? `${a} and ${b} overlap` : 'no clash').toBe('no clash');
        }
      }
    });

    it('lists a literal path before any parameterised one that a router, blind to kinds, would match first', () => {
      for (const [i, later] of ids.entries()) {
        for (const earlier of ids.slice(0, i)) {
          const shadowed =
            methodOn(earlier, on) === methodOn(later, on) && shadows(segments(earlier), segments(later));
          expect(shadowed ? `${earlier} shadows ${later}` : 'in order').toBe('in order');
        }
      }
    });
  });

  describe('routePath', () => {
    it('fills each hop with its own spelling', () => {
      expect(routePath('services.stop', 'gateway', { id: 'sg-3652098' })).toBe('/api/v1/services/sg-3652098');
      expect(routePath('services.stop', 'orchestrator', { id: 'sg-3652098' })).toBe(
        '/api/services/stop/sg-3652098',
      );
      expect(routePath('vllm.prompt', 'proxy', { id: '7' })).toBe('/api/services/vllm/7/prompt');
      expect(routePath('vllm.modelInfo', 'orchestrator', { org: 'Qwen', name: 'Qwen2.5-7B-Instruct' })).toBe(
        '/api/services/vllm/model-info/Qwen/Qwen2.5-7B-Instruct',
      );
      expect(examplePath('vectorDb.search', 'gateway')).toBe(
        '/api/v1/vector-db/3652098/collections/my_documents/points/search',
      );
    });

    it('encodes each parameter so it cannot add a segment, a query or a fragment', () => {
      expect(routePath('services.get', 'orchestrator', { id: '../admin?x=1#y' })).toBe(
        '/api/services/..%2Fadmin%3Fx%3D1%23y',
      );
      fc.assert(
        fc.property(fc.string(), (name) => {
          const path = routePath('recipes.getInCategory', 'orchestrator', { category: 'a', name });
          const inner = path.slice('/api/recipes/a/'.length);
          return !/[/?#]/.test(inner) && decodeURIComponent(inner) === name;
        }),
      );
    });

    it('is checked by the compiler: the parameters of that hop, and only hops that serve the route', () => {
      // @ts-expect-error a missing parameter
      expect(() => routePath('services.get', 'gateway', {})).toThrow(/needs parameter "id"/);
      // @ts-expect-error a parameter the path does not have
      routePath('services.list', 'gateway', { id: '1' });
      // @ts-expect-error the proxy does not serve control-plane routes
      expect(() => routePath('services.create', 'proxy', {})).toThrow(/not served on the proxy/);
      // @ts-expect-error no such route
      expect(() => routePath('services.nope', 'gateway', {})).toThrow();
    });
  });
});

const KIND_ACCEPTS: Record<RouteParamKind, RegExp> = {
  serviceId: SERVICE_ID_PATTERN,
  name: /^[A-Za-z0-9_.-]{1,128}$/,
  collection: COLLECTION_NAME_PATTERN,
};

/** Whether one request path could match both routes, given what each parameter's kind accepts. */
function overlap(a: RouteId, left: string[], b: RouteId, right: string[]): boolean {
  if (left.length !== right.length) return false;
  const kindOf = (id: RouteId, segment: string): RouteParamKind | undefined =>
    segment.startsWith(':') ? routeDef(id).params?.[segment.slice(1)]?.kind : undefined;
  return left.every((segment, index) => {
    const other = right[index] ?? '';
    const [kindA, kindB] = [kindOf(a, segment), kindOf(b, other)];
    if (kindA && kindB) return true;
    if (kindA) return KIND_ACCEPTS[kindA].test(other);
    if (kindB) return KIND_ACCEPTS[kindB].test(segment);
    return segment === other;
  });
}

/** Whether a router that knows nothing of kinds would send `later`'s own literal path to `earlier`. */
function shadows(earlier: string[], later: string[]): boolean {
  return (
    earlier.length === later.length &&
    earlier.some((segment, index) => segment.startsWith(':') && !later[index]?.startsWith(':')) &&
    earlier.every((segment, index) => segment.startsWith(':') || segment === later[index])
  );
}
