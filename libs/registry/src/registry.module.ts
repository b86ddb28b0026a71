import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { RedisSettings } from '@aiplane/config';
import { createRedis } from './redis.connection';
import { checkRedisSafety } from './redis-safety.probe';
import { ServiceRegistry } from './service.registry';

/** The registry's Redis connection, for the few callers that need Redis itself (health checks, locks). */
export const REDIS = Symbol('Redis');

export interface RegistryModuleOptions {
  redisUrl: string;
  /** Key prefix of every record, so several stacks can share one Redis. */
  prefix: string;
  /** Start against a Redis URL without a password (checkRedisSafety refuses it otherwise). */
  allowNoAuth?: boolean;
  /** Start without reading `maxmemory-policy` (for a Redis whose CONFIG command is renamed). */
  skipPolicyCheck?: boolean;
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
        {
          provide: REDIS,
          // Every app builds its records store here, so this is the one place the start-up check runs.
          useFactory: async () => {
            await checkRedisSafety({
              REDIS_URL: options.redisUrl,
              REDIS_ALLOW_NO_AUTH: options.allowNoAuth ?? false,
              REDIS_SKIP_POLICY_CHECK: options.skipPolicyCheck ?? false,
            });
            return createRedis(options.redisUrl);
          },
        },
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
  static forConfig(config: RedisSettings & { REDIS_PREFIX: string }): DynamicModule {
    return RegistryModule.forRoot({
      redisUrl: config.REDIS_URL,
      prefix: config.REDIS_PREFIX,
      allowNoAuth: config.REDIS_ALLOW_NO_AUTH,
      skipPolicyCheck: config.REDIS_SKIP_POLICY_CHECK,
    });
  }

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}
