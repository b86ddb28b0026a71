import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { createRedis } from './redis.connection';
import { ServiceRegistry } from './service.registry';

/** The registry's Redis connection, for the few callers that need Redis itself (health checks, locks). */
export const REDIS = Symbol('Redis');

export interface RegistryModuleOptions {
  redisUrl: string;
  /** Key prefix of every record, so several stacks can share one Redis. */
  prefix: string;
}

/**
 * The records store for a Nest app: one Redis connection and the ServiceRegistry on it, both
 * global, and the connection closed when the app shuts down.
 */
@Global()
@Module({})
export class RegistryModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  static forRoot(options: RegistryModuleOptions): DynamicModule {
    return {
      module: RegistryModule,
      providers: [
        { provide: REDIS, useFactory: () => createRedis(options.redisUrl) },
        {
          provide: ServiceRegistry,
          useFactory: (redis: Redis) => new ServiceRegistry(redis, options.prefix),
          inject: [REDIS],
        },
      ],
      exports: [REDIS, ServiceRegistry],
    };
  }

  /** From an app config's standard Redis settings. */
  static forConfig(config: { REDIS_URL: string; REDIS_PREFIX: string }): DynamicModule {
    return RegistryModule.forRoot({ redisUrl: config.REDIS_URL, prefix: config.REDIS_PREFIX });
  }

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}
