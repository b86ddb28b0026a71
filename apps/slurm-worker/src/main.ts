import 'reflect-metadata';
import { createLogger, ensurePrivateDir, runStandalone, UnsafePathError } from '@aiplane/server-kit';
import { AppModule } from './app.module';
import { loadSlurmWorkerConfig } from './slurm-worker.config';

/** No HTTP surface: the worker only consumes the scheduler queue. Scale it by starting more. */
async function main(): Promise<void> {
  const config = loadSlurmWorkerConfig();
  // Job scripts, logs and endpoint files live here: a directory other users can write or own is refused.
  await ensurePrivateDir(config.STATE_DIR).catch((error: unknown) => {
    throw error instanceof UnsafePathError
      ? new Error(`slurm-worker: STATE_DIR refused: ${error.message}`)
      : error;
  });
  const logger = createLogger('slurm-worker', config.LOG_LEVEL, undefined, config.LOG_FORMAT);
  await runStandalone(AppModule.forRoot(config, logger));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
