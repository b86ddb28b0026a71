import { Module, type DynamicModule } from '@nestjs/common';
import { loggerModule, type Logger } from '@aiplane/server-kit';
import { JobsModule } from './jobs/jobs.module';
import { PlatformModule } from './platform/platform.module';
import type { SlurmWorkerConfig } from './slurm-worker.config';

@Module({})
export class AppModule {
  static forRoot(config: SlurmWorkerConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [loggerModule(logger), PlatformModule.forRoot(config, logger), JobsModule],
    };
  }
}
