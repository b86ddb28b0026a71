import { Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { loadReportedRecipeCatalogue } from '@aiplane/recipes';
import { AppMetrics } from '@aiplane/metrics';
import { MetricsPublishingModule, RegistryModule } from '@aiplane/registry';
import { METRICS, platformModule, type Logger } from '@aiplane/server-kit';
import type { ProxyConfig } from '../proxy.config';
import { UpstreamClient } from '../upstream/upstream.client';

export { CONFIG, LOGGER, METRICS } from '@aiplane/server-kit';
export const UPSTREAM = Symbol('UpstreamClient');
/** The recipe catalogue, for the model a vLLM service serves when its config names none. */
export const RECIPES = Symbol('RecipeCatalogue');

@Module({})
export class PlatformModule implements OnApplicationShutdown {
  constructor(@Inject(UPSTREAM) private readonly upstream: UpstreamClient) {}

  static forRoot(config: ProxyConfig, logger: Logger): DynamicModule {
    const metrics = new AppMetrics('proxy');
    return platformModule(PlatformModule, config, logger, {
      imports: [RegistryModule.forConfig(config), MetricsPublishingModule.forApp(metrics, config, logger)],
      providers: [
        {
          provide: UPSTREAM,
          useFactory: () =>
            new UpstreamClient({
              connectTimeoutMs: config.CONNECT_TIMEOUT_MS,
              responseTimeoutMs: config.UPSTREAM_TIMEOUT_MS,
              proveKeys: config.WORKLOAD_KEY_PROOF,
            }),
        },
        {
          provide: RECIPES,
          useFactory: () => loadReportedRecipeCatalogue(config.RECIPES_DIR, logger),
        },
        { provide: METRICS, useValue: metrics },
      ],
      exports: [UPSTREAM, RECIPES, METRICS],
    });
  }

  onApplicationShutdown(): void {
    this.upstream.close();
  }
}
