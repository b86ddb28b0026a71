import { Global, Module } from '@nestjs/common';
import { EXAMPLE_BODIES, examplePath, methodOn, routeDef, routeIds, type RouteOn } from '@aiplane/contracts';
import { createHttpApp, createLogger, loggerModule } from '@aiplane/server-kit';
import { withHttpApp } from '@aiplane/testing';
import { PROXY_FORWARDER } from '../platform/platform.module';
import { StandInProxy } from '../testing/stand-in-proxy';
import { DataPlaneModule } from './data-plane.module';

// Every data-plane route of the table, through the real controllers, to a stand-in proxy.
const standInProxy = new StandInProxy();
const { forwarded } = standInProxy;

const logger = createLogger('orchestrator', 'silent');

/** In place of the platform module: only the proxy, which the data-plane routes inject. */
@Global()
@Module({
  providers: [{ provide: PROXY_FORWARDER, useValue: standInProxy }],
  exports: [PROXY_FORWARDER],
})
class StandInPlatformModule {}

@Module({ imports: [loggerModule(logger), StandInPlatformModule, DataPlaneModule] })
class TestModule {}

const proxied = routeIds().filter((id) => routeDef(id).proxy !== undefined) as RouteOn<'proxy'>[];

describe('orchestrator data-plane routes', () => {
  const server = withHttpApp(() => createHttpApp(TestModule, { logger }));

  beforeEach(() => {
    forwarded.length = 0;
  });

  it.each(proxied)('%s reaches the proxy at the path the table gives it, the body unchanged', async (id) => {
    const contract = routeDef(id).body;
    const body = contract === undefined ? undefined : EXAMPLE_BODIES[contract];
    const method = methodOn(id, 'orchestrator');
    const response = await fetch(`${server.url}${examplePath(id, 'orchestrator')}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    expect(forwarded).toEqual([{ method: methodOn(id, 'proxy'), path: examplePath(id, 'proxy'), body }]);
  });

  it('builds the proxy path from the decoded, validated parameters, not from the URL the client wrote', async () => {
    const response = await fetch(`${server.url}/api/services/vllm/%37/prompt?debug=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'hi' }),
    });
    expect(response.status).toBe(200);
    expect(forwarded.map(({ path }) => path)).toEqual(['/api/services/vllm/7/prompt']);
  });
});
