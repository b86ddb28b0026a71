import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { createRedis, ServiceRegistry } from '@aiplane/registry';
import type { Logger } from '@aiplane/server-kit';
import type { HealthProberConfig } from '../health-prober.config';

export const CONFIG = Symbol('HealthProberConfig');
export const LOGGER = Symbol('Logger');
export const REDIS = Symbol('Redis');

@Global()
@Module({})
export class PlatformModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  static forRoot(config: HealthProberConfig, logger: Logger): DynamicModule {
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
      ],
      exports: [CONFIG, LOGGER, REDIS, ServiceRegistry],
    };
  }

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}
