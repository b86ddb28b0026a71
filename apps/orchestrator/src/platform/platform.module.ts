import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { createBullConnection, SchedulerQueueClient } from '@aiplane/jobs';
import { loadRecipeCatalogue, RecipeCatalogue } from '@aiplane/recipes';
import { RegistryModule } from '@aiplane/registry';
import { HttpForwarder, keepAliveAgent, type Logger } from '@aiplane/server-kit';
import type { OrchestratorConfig } from '../orchestrator.config';

export const CONFIG = Symbol('OrchestratorConfig');
export const LOGGER = Symbol('Logger');
export const QUEUE_REDIS = Symbol('QueueRedis');
export const PROXY_FORWARDER = Symbol('ProxyForwarder');

/** Every external dependency of the orchestrator, built once from the validated config. */
@Global()
@Module({})
export class PlatformModule implements OnApplicationShutdown {
  constructor(
    @Inject(QUEUE_REDIS) private readonly queueRedis: Redis,
    private readonly queue: SchedulerQueueClient,
  ) {}

  static forRoot(config: OrchestratorConfig, logger: Logger) {
    return {
      module: PlatformModule,
      imports: [RegistryModule.forRoot({ redisUrl: config.REDIS_URL, prefix: config.REDIS_PREFIX })],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        { provide: QUEUE_REDIS, useFactory: () => createBullConnection(config.REDIS_URL) },
        {
          provide: SchedulerQueueClient,
          useFactory: (connection: Redis) =>
            new SchedulerQueueClient(connection, `${config.REDIS_PREFIX}:bull`),
          inject: [QUEUE_REDIS],
        },
        {
          provide: RecipeCatalogue,
          useFactory: () => {
            const { catalogue, errors } = loadRecipeCatalogue(config.RECIPES_DIR);
            // A broken recipe is reported loudly at start-up rather than silently missing later.
            for (const error of errors)
              logger.error({ file: error.file }, `invalid recipe: ${error.message}`);
            logger.info({ recipes: catalogue.paths() }, 'recipe catalogue loaded');
            return catalogue;
          },
        },
        {
          provide: PROXY_FORWARDER,
          useFactory: () =>
            new HttpForwarder({
              name: 'data-plane proxy',
              baseUrl: config.PROXY_URL,
              agent: keepAliveAgent(),
              timeoutMs: config.UPSTREAM_TIMEOUT_MS,
            }),
        },
      ],
      exports: [CONFIG, LOGGER, SchedulerQueueClient, RecipeCatalogue, PROXY_FORWARDER],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.queue.close();
    this.queueRedis.disconnect();
  }
}
