import 'reflect-metadata';
import { createLogger, runStandalone } from '@aiplane/server-kit';
import { AppModule } from './app.module';
import { loadSlurmWorkerConfig } from './slurm-worker.config';

/** No HTTP surface: the worker only consumes the scheduler queue. Scale it by starting more. */
async function main(): Promise<void> {
  const config = loadSlurmWorkerConfig();
  const logger = createLogger('slurm-worker', config.LOG_LEVEL);
  await runStandalone(AppModule.forRoot(config, logger));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
