import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { createRedis, ServiceRegistry } from '@aiplane/registry';
import type { Logger } from '@aiplane/server-kit';
import type { ProxyConfig } from '../proxy.config';
import { UpstreamClient } from '../upstream/upstream.client';

export const CONFIG = Symbol('ProxyConfig');
export const LOGGER = Symbol('Logger');
export const REDIS = Symbol('Redis');
export const UPSTREAM = Symbol('UpstreamClient');

@Global()
@Module({})
export class PlatformModule implements OnApplicationShutdown {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(UPSTREAM) private readonly upstream: UpstreamClient,
  ) {}

  static forRoot(config: ProxyConfig, logger: Logger): DynamicModule {
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
        {
          provide: UPSTREAM,
          useFactory: () =>
            new UpstreamClient({
              connectTimeoutMs: config.CONNECT_TIMEOUT_MS,
              responseTimeoutMs: config.UPSTREAM_TIMEOUT_MS,
            }),
        },
      ],
      exports: [CONFIG, LOGGER, REDIS, ServiceRegistry, UPSTREAM],
    };
  }

  onApplicationShutdown(): void {
    this.upstream.close();
    this.redis.disconnect();
  }
}
