import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { loadRecipeCatalogue, RecipeCatalogue } from '@aiplane/recipes';
import { createRedis, ServiceRegistry } from '@aiplane/registry';
import { ExecFileCommandRunner, LocalScheduler, SlurmScheduler, type Scheduler } from '@aiplane/scheduler';
import type { Logger } from '@aiplane/server-kit';
import type { SlurmWorkerConfig } from '../slurm-worker.config';

export const CONFIG = Symbol('SlurmWorkerConfig');
export const LOGGER = Symbol('Logger');
export const REDIS = Symbol('Redis');
export const SCHEDULER = Symbol('Scheduler');

@Global()
@Module({})
export class PlatformModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  static forRoot(config: SlurmWorkerConfig, logger: Logger): DynamicModule {
    return {
      module: PlatformModule,
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        { provide: REDIS, useFactory: () => createRedis(config.REDIS_URL) },
        {
          provide: ServiceRegistry,
          useFactory: (redis: Redis) => new ServiceRegistry(redis, config.REDIS_PREFIX),
          inject: [REDIS],
        },
        {
          provide: SCHEDULER,
          useFactory: (): Scheduler =>
            config.SCHEDULER === 'slurm'
              ? new SlurmScheduler(
                  new ExecFileCommandRunner(),
                  config.SLURM_USER ? { user: config.SLURM_USER } : {},
                )
              : new LocalScheduler({ stateDir: config.STATE_DIR }),
        },
        {
          provide: RecipeCatalogue,
          useFactory: () => {
            const { catalogue, errors } = loadRecipeCatalogue(config.RECIPES_DIR);
            for (const error of errors)
              logger.error({ file: error.file }, `invalid recipe: ${error.message}`);
            return catalogue;
          },
        },
      ],
      exports: [CONFIG, LOGGER, REDIS, ServiceRegistry, SCHEDULER, RecipeCatalogue],
    };
  }

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}
