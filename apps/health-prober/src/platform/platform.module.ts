import { Module, type DynamicModule } from '@nestjs/common';
import { RegistryModule } from '@aiplane/registry';
import { platformModule, type Logger } from '@aiplane/server-kit';
import type { HealthProberConfig } from '../health-prober.config';

export { CONFIG, LOGGER } from '@aiplane/server-kit';

@Module({})
export class PlatformModule {
  static forRoot(config: HealthProberConfig, logger: Logger): DynamicModule {
    return platformModule(PlatformModule, config, logger, { imports: [RegistryModule.forConfig(config)] });
  }
}
