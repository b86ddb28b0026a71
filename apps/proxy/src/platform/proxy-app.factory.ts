import { PROXY_PREFIX } from '@aiplane/contracts';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AppMetrics } from '@aiplane/metrics';
import { createHttpApp, instrumentHttpServer, METRICS, type Logger } from '@aiplane/server-kit';
import { AppModule } from '../app.module';
import { installDataPlane } from '../data-plane/data-plane.dispatcher';
import type { ProxyConfig } from '../proxy.config';

/** The proxy as it runs: the Nest app under its prefix, with the raw data plane in front of it. */
export async function createProxyApp(config: ProxyConfig, logger: Logger): Promise<NestExpressApplication> {
  const app = await createHttpApp(AppModule.forRoot(config, logger), { logger });
  app.setGlobalPrefix(PROXY_PREFIX.slice(1));
  installDataPlane(app);
  // Outermost: requests the data plane refuses (a wrong token) are counted too. Every route but
  // its liveness check is data plane, so each answer's overhead header is observed.
  instrumentHttpServer(app.getHttpServer(), {
    hop: 'proxy',
    metrics: app.get<AppMetrics>(METRICS).http(),
    dataPlane: (_method, url) => url !== '/health',
  });
  return app;
}
