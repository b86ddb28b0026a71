import { Module, type DynamicModule } from '@nestjs/common';
import { loggerModule, type Logger } from '@aiplane/server-kit';
import type { HealthProberConfig } from './health-prober.config';
import { PlatformModule } from './platform/platform.module';
import { ProbesService } from './probes/probes.service';

@Module({})
export class AppModule {
  static forRoot(config: HealthProberConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [loggerModule(logger), PlatformModule.forRoot(config, logger)],
      providers: [ProbesService],
    };
  }
}
