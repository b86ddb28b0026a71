import { methodOn, pathPattern, PROXY_PREFIX, routeIds } from '@aiplane/contracts';
import { createLogger, routesOf } from '@aiplane/server-kit';
import { AppModule } from './app.module';
import { RAW_ROUTE_IDS } from './data-plane/data-plane.dispatcher';
import { loadProxyConfig } from './proxy.config';

describe('the proxy serves the route table', () => {
  it('registers every proxy route of the table (Nest or raw), at the path and with the method the orchestrator forwards', () => {
    const registered = routesOf(
      AppModule.forRoot(
        loadProxyConfig({ LOG_LEVEL: 'silent', PROXY_TOKEN: 'proxy-spec-token-0123456789abcdef' }),
        createLogger('proxy', 'silent'),
      ),
      PROXY_PREFIX,
    );
    const table = routeIds().flatMap((id) => {
      const path = pathPattern(id, 'proxy');
      return path === undefined ? [] : [`${methodOn(id, 'proxy')} ${path}`];
    });
    const raw = RAW_ROUTE_IDS.flatMap((id) => {
      const path = pathPattern(id, 'proxy');
      return path === undefined ? [] : [`${methodOn(id, 'proxy')} ${path}`];
    });
    expect([...registered.map(({ method, path }) => `${method} ${path}`), ...raw].sort()).toEqual(
      table.sort(),
    );
  });
});
