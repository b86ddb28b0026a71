import 'reflect-metadata';
import { PROXY_PREFIX } from '@aiplane/contracts';
import { createHttpApp, createLogger, listen } from '@aiplane/server-kit';
import { AppModule } from './app.module';
import { loadProxyConfig } from './proxy.config';

async function main(): Promise<void> {
  const config = loadProxyConfig();
  const logger = createLogger('proxy', config.LOG_LEVEL);
  const app = await createHttpApp(AppModule.forRoot(config, logger), { logger });
  app.setGlobalPrefix(PROXY_PREFIX.slice(1));
  await listen(app, config.PROXY_HOST, config.PROXY_PORT, logger);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
