import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { isControlPlaneApp, unknownAppMessage } from '@aiplane/contracts';
import { mergeExpositions, type AppMetrics } from '@aiplane/metrics';
import { MetricsSnapshots, REDIS } from '@aiplane/registry';
import { METRICS, NotFoundError, UnavailableError } from '@aiplane/server-kit';
import type { OrchestratorConfig } from '../orchestrator.config';
import { CONFIG } from '../platform/platform.module';

/**
 * The control plane's metrics, one app at a time: this process's own registry, or the snapshots
 * the apps without a reachable HTTP server publish to Redis, each process's series labelled with
 * its `instance_id` (several workers or probers may run).
 */
@Injectable()
export class MetricsService {
  private readonly snapshots: MetricsSnapshots;

  constructor(
    @Inject(METRICS) private readonly metrics: AppMetrics,
    @Inject(REDIS) redis: Redis,
    @Inject(CONFIG) config: OrchestratorConfig,
  ) {
    this.snapshots = new MetricsSnapshots(redis, config.REDIS_PREFIX);
  }

  get contentType(): string {
    return this.metrics.contentType;
  }

  async exposition(app: string): Promise<string> {
    if (!isControlPlaneApp(app)) throw new NotFoundError(unknownAppMessage(app));
    if (app === 'orchestrator') return this.metrics.text();
    if (app === 'gateway') {
      throw new NotFoundError(
        "The gateway's metrics are the gateway's own: ask it, at /api/v1/metrics/gateway",
      );
    }
    const snapshots = await this.snapshots.read(app);
    if (snapshots.length === 0) {
      throw new UnavailableError(
        `No fresh metrics from the ${app}: it is not running, or it cannot reach Redis to publish them`,
      );
    }
    return mergeExpositions(
      snapshots.map(({ instance, text }) => ({ labels: { instance_id: instance }, text })),
    );
  }
}
