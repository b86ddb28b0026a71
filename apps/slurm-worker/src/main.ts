import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { createLogger } from '@aiplane/server-kit';
import { AppModule } from './app.module';
import { loadSlurmWorkerConfig } from './slurm-worker.config';

/** No HTTP surface: the worker only consumes the scheduler queue. Scale it by starting more. */
async function main(): Promise<void> {
  const config = loadSlurmWorkerConfig();
  const logger = createLogger('slurm-worker', config.LOG_LEVEL);
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config, logger), {
    bufferLogs: true,
  });
  app.useLogger(app.get(PinoNestLogger));
  app.enableShutdownHooks();
  await app.init();
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
