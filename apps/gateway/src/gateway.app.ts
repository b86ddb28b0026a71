import type { NestExpressApplication } from '@nestjs/platform-express';
import { CONTROL_BODY_LIMIT, GATEWAY_PREFIX, isPassThrough, pathPattern, routeIds } from '@aiplane/contracts';
import { AppMetrics } from '@aiplane/metrics';
import {
  createHttpApp,
  instrumentHttpServer,
  PassThroughDispatcher,
  RequestGate,
  type Logger,
} from '@aiplane/server-kit';
import { AppModule } from './app.module';
import { serveDashboard } from './dashboard/dashboard.assets';
import { OPENAI_ROOT_PATHS } from './openai/openai.controller';
import type { GatewayConfig } from './gateway.config';
import { SSH_TUNNEL } from './transport/orchestrator.client';
import type { SshTunnel } from './transport/ssh-tunnel';
import { API_PREFIX, buildOpenApiDocument, serveOpenApiDocs } from './openapi';

/** The gateway's own routes outside /api/v1 (its health), as the route table places them. */
const OUTSIDE_PREFIX = routeIds().flatMap((id) => {
  const path = pathPattern(id, 'gateway');
  return path === undefined || path.startsWith(`${GATEWAY_PREFIX}/`) ? [] : [path.slice(1)];
});

/** The whole gateway, ready to listen; shared by main.ts, the tests and the OpenAPI generator. */
export async function createGatewayApp(
  config: GatewayConfig,
  logger: Logger,
): Promise<NestExpressApplication> {
  const metrics = new AppMetrics('gateway');
  // Only control-plane routes reach Nest: the data plane's larger bodies are streamed before it.
  const app = await createHttpApp(AppModule.forRoot(config, logger, metrics), {
    logger,
    bodyLimit: CONTROL_BODY_LIMIT,
  });
  // Before Nest's routes are added (at init), so that /ui/ never reaches its 404.
  serveDashboard(app, config.dashboardDir);
  app.setGlobalPrefix(API_PREFIX, { exclude: [...OUTSIDE_PREFIX, ...OPENAI_ROOT_PATHS] });
  // The data plane (root /v1, the per-service OpenAI and Qdrant forms, every table route with a
  // proxy path) never reaches Nest: it is streamed to the proxy from the server's request event.
  app.get(PassThroughDispatcher).install(app.getHttpServer());
  // In front of everything, /docs included: Host (DNS rebinding) and declared body sizes.
  new RequestGate({ hop: 'gateway', allowedHosts: config.allowedHosts }).install(app.getHttpServer());
  // Outermost, so that what the gate refuses is counted too.
  instrumentHttpServer(app.getHttpServer(), {
    hop: 'gateway',
    metrics: metrics.http(),
    dataPlane: (method, url) => isPassThrough('gateway', method, url),
  });
  const tunnel = app.get<SshTunnel | null>(SSH_TUNNEL);
  if (tunnel) metrics.sshTunnel(() => tunnel.metricsReading());
  serveOpenApiDocs(app, buildOpenApiDocument(app));
  return app;
}
