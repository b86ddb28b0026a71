import { Module, type DynamicModule } from '@nestjs/common';
import { loadReportedRecipeCatalogue, RecipeCatalogue } from '@aiplane/recipes';
import { AppMetrics } from '@aiplane/metrics';
import { MetricsPublishingModule, RegistryModule } from '@aiplane/registry';
import type { Scheduler } from '@aiplane/scheduler';
import { METRICS, platformModule, type Logger } from '@aiplane/server-kit';
import type { SlurmWorkerConfig } from '../slurm-worker.config';
import { schedulerFromConfig } from './scheduler.provider';

export { CONFIG, LOGGER, METRICS } from '@aiplane/server-kit';
export const SCHEDULER = Symbol('Scheduler');

@Module({})
export class PlatformModule {
  static forRoot(config: SlurmWorkerConfig, logger: Logger): DynamicModule {
    const metrics = new AppMetrics('slurm-worker');
    return platformModule(PlatformModule, config, logger, {
      imports: [RegistryModule.forConfig(config), MetricsPublishingModule.forApp(metrics, config, logger)],
      providers: [
        { provide: METRICS, useValue: metrics },
        {
          provide: SCHEDULER,
          useFactory: (): Scheduler => schedulerFromConfig(config, undefined, metrics.scheduler()),
        },
        {
          provide: RecipeCatalogue,
          useFactory: () => loadReportedRecipeCatalogue(config.RECIPES_DIR, logger),
        },
      ],
      exports: [SCHEDULER, RecipeCatalogue, METRICS],
    });
  }
}
