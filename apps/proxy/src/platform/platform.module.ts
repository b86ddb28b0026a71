import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { RegistryModule } from '@aiplane/registry';
import type { Logger } from '@aiplane/server-kit';
import type { ProxyConfig } from '../proxy.config';
import { UpstreamClient } from '../upstream/upstream.client';

export const CONFIG = Symbol('ProxyConfig');
export const LOGGER = Symbol('Logger');
export const UPSTREAM = Symbol('UpstreamClient');

@Global()
@Module({})
export class PlatformModule implements OnApplicationShutdown {
  constructor(@Inject(UPSTREAM) private readonly upstream: UpstreamClient) {}

  static forRoot(config: ProxyConfig, logger: Logger): DynamicModule {
    return {
      module: PlatformModule,
      imports: [RegistryModule.forRoot({ redisUrl: config.REDIS_URL, prefix: config.REDIS_PREFIX })],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        {
          provide: UPSTREAM,
          useFactory: () =>
            new UpstreamClient({
              connectTimeoutMs: config.CONNECT_TIMEOUT_MS,
              responseTimeoutMs: config.UPSTREAM_TIMEOUT_MS,
            }),
        },
      ],
      exports: [CONFIG, LOGGER, UPSTREAM],
    };
  }

  onApplicationShutdown(): void {
    this.upstream.close();
  }
}
