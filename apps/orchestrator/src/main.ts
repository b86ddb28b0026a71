import 'reflect-metadata';
import { ORCHESTRATOR_PREFIX } from '@aiplane/contracts';
import { createHttpApp, createLogger, listen } from '@aiplane/server-kit';
import { AppModule } from './app.module';
import { BearerTokenGuard } from './auth/bearer-token.guard';
import { loadOrchestratorConfig } from './orchestrator.config';

async function main(): Promise<void> {
  const config = loadOrchestratorConfig();
  const logger = createLogger('orchestrator', config.LOG_LEVEL);
  const app = await createHttpApp(AppModule.forRoot(config, logger), { logger });
  app.setGlobalPrefix(ORCHESTRATOR_PREFIX.slice(1));
  if (config.ORCHESTRATOR_TOKEN) app.useGlobalGuards(new BearerTokenGuard(config.ORCHESTRATOR_TOKEN));
  else
    logger.warn(
      'ORCHESTRATOR_TOKEN is not set: the orchestrator accepts requests from anyone who can reach it',
    );
  await listen(app, config.ORCHESTRATOR_HOST, config.ORCHESTRATOR_PORT, logger);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
