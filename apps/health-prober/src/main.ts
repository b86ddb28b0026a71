import 'reflect-metadata';
import { createLogger, runStandalone } from '@aiplane/server-kit';
import { AppModule } from './app.module';
import { loadHealthProberConfig } from './health-prober.config';

async function main(): Promise<void> {
  const config = loadHealthProberConfig();
  const logger = createLogger('health-prober', config.LOG_LEVEL, undefined, config.LOG_FORMAT);
  await runStandalone(AppModule.forRoot(config, logger));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
