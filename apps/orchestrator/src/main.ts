import 'reflect-metadata';
import { createLogger, listen } from '@aiplane/server-kit';
import { createOrchestratorApp } from './orchestrator.app';
import { loadOrchestratorConfig } from './orchestrator.config';

async function main(): Promise<void> {
  const config = loadOrchestratorConfig();
  const logger = createLogger('orchestrator', config.LOG_LEVEL);
  const app = await createOrchestratorApp(config, logger);
  if (!config.ORCHESTRATOR_TOKEN)
    logger.warn(
      'ORCHESTRATOR_TOKEN is not set: the orchestrator accepts requests from anyone who can reach it',
    );
  await listen(app, config.ORCHESTRATOR_HOST, config.ORCHESTRATOR_PORT, logger);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
