import { Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { createBullConnection, SchedulerQueueClient } from '@aiplane/jobs';
import { loadReportedRecipeCatalogue, RecipeCatalogue } from '@aiplane/recipes';
import { RegistryModule } from '@aiplane/registry';
import { AppMetrics } from '@aiplane/metrics';
import { METRICS, platformModule, type Logger } from '@aiplane/server-kit';
import type { OrchestratorConfig } from '../orchestrator.config';

export { CONFIG, LOGGER, METRICS } from '@aiplane/server-kit';
export const QUEUE_REDIS = Symbol('QueueRedis');

/** Every external dependency of the orchestrator, built once from the validated config. */
@Module({})
export class PlatformModule implements OnApplicationShutdown {
  constructor(
    @Inject(QUEUE_REDIS) private readonly queueRedis: Redis,
    private readonly queue: SchedulerQueueClient,
  ) {}

  static forRoot(config: OrchestratorConfig, logger: Logger): DynamicModule {
    return platformModule(PlatformModule, config, logger, {
      imports: [RegistryModule.forConfig(config)],
      providers: [
        { provide: QUEUE_REDIS, useFactory: () => createBullConnection(config.REDIS_URL) },
        {
          provide: SchedulerQueueClient,
          useFactory: (connection: Redis) =>
            new SchedulerQueueClient(connection, `${config.REDIS_PREFIX}:bull`),
          inject: [QUEUE_REDIS],
        },
        {
          provide: RecipeCatalogue,
          useFactory: () => loadReportedRecipeCatalogue(config.RECIPES_DIR, logger),
        },
        { provide: METRICS, useFactory: () => new AppMetrics('orchestrator') },
      ],
      exports: [SchedulerQueueClient, RecipeCatalogue, METRICS],
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.queue.close();
    this.queueRedis.disconnect();
  }
}
