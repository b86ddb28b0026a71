import { Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { RegistryModule } from '@aiplane/registry';
import { platformModule, type Logger } from '@aiplane/server-kit';
import type { ProxyConfig } from '../proxy.config';
import { UpstreamClient } from '../upstream/upstream.client';

export { CONFIG, LOGGER } from '@aiplane/server-kit';
export const UPSTREAM = Symbol('UpstreamClient');

@Module({})
export class PlatformModule implements OnApplicationShutdown {
  constructor(@Inject(UPSTREAM) private readonly upstream: UpstreamClient) {}

  static forRoot(config: ProxyConfig, logger: Logger): DynamicModule {
    return platformModule(PlatformModule, config, logger, {
      imports: [RegistryModule.forConfig(config)],
      providers: [
        {
          provide: UPSTREAM,
          useFactory: () =>
            new UpstreamClient({
              connectTimeoutMs: config.CONNECT_TIMEOUT_MS,
              responseTimeoutMs: config.UPSTREAM_TIMEOUT_MS,
            }),
        },
      ],
      exports: [UPSTREAM],
    });
  }

  onApplicationShutdown(): void {
    this.upstream.close();
  }
}
