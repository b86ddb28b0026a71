import { Module, type DynamicModule } from '@nestjs/common';
import { AppMetrics } from '@aiplane/metrics';
import { MetricsPublishingModule, RegistryModule } from '@aiplane/registry';
import { METRICS, platformModule, type Logger } from '@aiplane/server-kit';
import type { HealthProberConfig } from '../health-prober.config';

export { CONFIG, LOGGER, METRICS } from '@aiplane/server-kit';

@Module({})
export class PlatformModule {
  static forRoot(config: HealthProberConfig, logger: Logger): DynamicModule {
    const metrics = new AppMetrics('health-prober');
    return platformModule(PlatformModule, config, logger, {
      imports: [RegistryModule.forConfig(config), MetricsPublishingModule.forApp(metrics, config, logger)],
      providers: [{ provide: METRICS, useValue: metrics }],
      exports: [METRICS],
    });
  }
}
