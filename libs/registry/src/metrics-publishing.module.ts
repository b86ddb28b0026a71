import {
  Inject,
  Module,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Redis } from 'ioredis';
import { MetricsPublisher, MetricsSnapshots } from './metrics.snapshots';
import { REDIS } from './registry.module';

const PUBLISHER = Symbol('MetricsPublisher');

/**
 * Publishes the app's metrics to Redis for the orchestrator's metrics route, from start-up until
 * shutdown (when its snapshot is withdrawn). Needs the global RegistryModule.
 */
@Module({})
export class MetricsPublishingModule implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(@Inject(PUBLISHER) private readonly publisher: MetricsPublisher) {}

  /** From an app's registry (`app`, `text()`) and its standard config; failures go to its logger. */
  static forApp(
    metrics: { app: string; text: () => Promise<string> },
    config: { REDIS_PREFIX: string; METRICS_PUBLISH_INTERVAL_MS: number },
    logger: { warn: (fields: object, message: string) => void },
  ): DynamicModule {
    return {
      module: MetricsPublishingModule,
      providers: [
        {
          provide: PUBLISHER,
          inject: [REDIS],
          useFactory: (redis: Redis) =>
            new MetricsPublisher(new MetricsSnapshots(redis, config.REDIS_PREFIX), {
              app: metrics.app,
              intervalMs: config.METRICS_PUBLISH_INTERVAL_MS,
              collect: () => metrics.text(),
              onError: (error) => {
                logger.warn({ err: error }, 'metrics could not be published; retrying every interval');
              },
            }),
        },
      ],
    };
  }

  onApplicationBootstrap(): void {
    this.publisher.start();
  }

  // Before RegistryModule closes the connection: Nest shuts modules down in reverse order of import.
  async onApplicationShutdown(): Promise<void> {
    await this.publisher.stop();
  }
}
