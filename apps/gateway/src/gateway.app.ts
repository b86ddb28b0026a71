import type { NestExpressApplication } from '@nestjs/platform-express';
import { createHttpApp, JSON_BODY_LIMIT, type Logger } from '@aiplane/server-kit';
import { AppModule } from './app.module';
import type { GatewayConfig } from './gateway.config';
import { API_PREFIX, buildOpenApiDocument, serveOpenApiDocs } from './openapi';

/** The whole gateway, ready to listen; shared by main.ts, the tests and the OpenAPI generator. */
export async function createGatewayApp(
  config: GatewayConfig,
  logger: Logger,
): Promise<NestExpressApplication> {
  const app = await createHttpApp(AppModule.forRoot(config, logger), { logger, bodyLimit: JSON_BODY_LIMIT });
  app.setGlobalPrefix(API_PREFIX, { exclude: ['health', 'ready'] });
  serveOpenApiDocs(app, buildOpenApiDocument(app));
  return app;
}
