import {
  examplePath,
  matchPassThrough,
  methodOn,
  ORCHESTRATOR_PREFIX,
  pathPattern,
  routeDef,
  routeIds,
} from '@aiplane/contracts';
import { createLogger, routesOf } from '@aiplane/server-kit';
import { AppModule } from './app.module';
import { loadOrchestratorConfig } from './orchestrator.config';

// What Nest registers, read from the module tree without starting it (no Redis, no proxy).
const registered = routesOf(
  AppModule.forRoot(
    loadOrchestratorConfig({
      LOG_LEVEL: 'silent',
      ORCHESTRATOR_TOKEN: 'orchestrator-spec-token-0123456789abcdef',
    }),
    createLogger('orchestrator', 'silent'),
  ),
  ORCHESTRATOR_PREFIX,
);
const operation = (method: string, path: string): string => `${method} ${path}`;
const onOrchestrator = routeIds().filter((id) => pathPattern(id, 'orchestrator') !== undefined);
/** The data plane: served by the pass-through in front of Nest, streamed to the proxy. */
const proxied = onOrchestrator.filter((id) => routeDef(id).proxy !== undefined);
const inNest = onOrchestrator.filter((id) => routeDef(id).proxy === undefined);

describe('the orchestrator serves the route table', () => {
  it('registers every control-plane route of the table, with its method, and no route the table lacks', () => {
    const table = inNest.map((id) =>
      operation(methodOn(id, 'orchestrator'), pathPattern(id, 'orchestrator') ?? ''),
    );
    expect(registered.map(({ method, path }) => operation(method, path)).sort()).toEqual(table.sort());
  });

  it.each(proxied)('serves %s by the pass-through, to the proxy at the path the table gives', (id) => {
    const match = matchPassThrough(
      'orchestrator',
      methodOn(id, 'orchestrator'),
      examplePath(id, 'orchestrator'),
    );
    expect(match?.proxyPath).toBe(examplePath(id, 'proxy'));
    expect(match?.routeId).toBe(id);
  });

  it('registers no parameterised path before a literal one it would match', () => {
    const segments = (path: string): string[] => path.split('/');
    for (const [index, later] of registered.entries()) {
      for (const earlier of registered.slice(0, index)) {
        const [a, b] = [segments(earlier.path), segments(later.path)];
        const shadows =
          earlier.method === later.method &&
          a.length === b.length &&
          a.some((segment, i) => segment.startsWith(':') && !b[i]?.startsWith(':')) &&
          a.every((segment, i) => segment.startsWith(':') || segment === b[i]);
        expect(shadows ? `${earlier.handler} shadows ${later.handler}` : 'in order').toBe('in order');
      }
    }
  });
});
