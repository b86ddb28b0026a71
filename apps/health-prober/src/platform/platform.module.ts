import { Global, Module, type DynamicModule } from '@nestjs/common';
import { RegistryModule } from '@aiplane/registry';
import type { Logger } from '@aiplane/server-kit';
import type { HealthProberConfig } from '../health-prober.config';

export const CONFIG = Symbol('HealthProberConfig');
export const LOGGER = Symbol('Logger');

@Global()
@Module({})
export class PlatformModule {
  static forRoot(config: HealthProberConfig, logger: Logger): DynamicModule {
    return {
      module: PlatformModule,
      imports: [RegistryModule.forRoot({ redisUrl: config.REDIS_URL, prefix: config.REDIS_PREFIX })],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
      ],
      exports: [CONFIG, LOGGER],
    };
  }
}
