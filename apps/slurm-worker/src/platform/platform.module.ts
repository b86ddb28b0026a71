import { Global, Module, type DynamicModule } from '@nestjs/common';
import { loadRecipeCatalogue, RecipeCatalogue } from '@aiplane/recipes';
import { RegistryModule } from '@aiplane/registry';
import type { Scheduler } from '@aiplane/scheduler';
import type { Logger } from '@aiplane/server-kit';
import type { SlurmWorkerConfig } from '../slurm-worker.config';
import { schedulerFromConfig } from './scheduler.provider';

export const CONFIG = Symbol('SlurmWorkerConfig');
export const LOGGER = Symbol('Logger');
export const SCHEDULER = Symbol('Scheduler');

@Global()
@Module({})
export class PlatformModule {
  static forRoot(config: SlurmWorkerConfig, logger: Logger): DynamicModule {
    return {
      module: PlatformModule,
      imports: [RegistryModule.forRoot({ redisUrl: config.REDIS_URL, prefix: config.REDIS_PREFIX })],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        {
          provide: SCHEDULER,
          useFactory: (): Scheduler => schedulerFromConfig(config),
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
      exports: [CONFIG, LOGGER, SCHEDULER, RecipeCatalogue],
    };
  }
}
