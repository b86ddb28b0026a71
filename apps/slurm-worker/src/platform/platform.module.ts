import { Module, type DynamicModule } from '@nestjs/common';
import { loadReportedRecipeCatalogue, RecipeCatalogue } from '@aiplane/recipes';
import { RegistryModule } from '@aiplane/registry';
import type { Scheduler } from '@aiplane/scheduler';
import { platformModule, type Logger } from '@aiplane/server-kit';
import type { SlurmWorkerConfig } from '../slurm-worker.config';
import { schedulerFromConfig } from './scheduler.provider';

export { CONFIG, LOGGER } from '@aiplane/server-kit';
export const SCHEDULER = Symbol('Scheduler');

@Module({})
export class PlatformModule {
  static forRoot(config: SlurmWorkerConfig, logger: Logger): DynamicModule {
    return platformModule(PlatformModule, config, logger, {
      imports: [RegistryModule.forConfig(config)],
      providers: [
        { provide: SCHEDULER, useFactory: (): Scheduler => schedulerFromConfig(config) },
        {
          provide: RecipeCatalogue,
          useFactory: () => loadReportedRecipeCatalogue(config.RECIPES_DIR, logger),
        },
      ],
      exports: [SCHEDULER, RecipeCatalogue],
    });
  }
}
