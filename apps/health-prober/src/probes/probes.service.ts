import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { JobState } from '@aiplane/contracts';
import {
  REDIS,
  ServiceRegistry,
  workloadApiKey,
  type StoredReplica,
  type StoredService,
} from '@aiplane/registry';
import type { AppMetrics, ReadinessMetrics } from '@aiplane/metrics';
import type { Logger } from '@aiplane/server-kit';
import type { HealthProberConfig } from '../health-prober.config';
import { CONFIG, LOGGER, METRICS } from '../platform/platform.module';
import { probeWorkload, type ProbeOutcome } from './readiness.probe';

const PROBED_STATES: readonly JobState[] = ['RUNNING', 'COMPLETING'];

/**
 * Probes every running workload once per interval and records whether it is ready. A lock with the
 * interval's lifetime keeps extra prober replicas from probing the same round twice.
 */
@Injectable()
export class ProbesService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly readiness: ReadinessMetrics;

  constructor(
    private readonly registry: ServiceRegistry,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) private readonly config: HealthProberConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(METRICS) metrics: AppMetrics,
  ) {
    this.readiness = metrics.readiness();
  }

  onApplicationBootstrap(): void {
    this.logger.info({ interval_ms: this.config.PROBE_INTERVAL_MS }, 'health-prober started');
    this.schedule(0);
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      const started = Date.now();
      this.tick()
        .catch((error: unknown) => {
          this.logger.error({ err: error }, 'probe round failed');
        })
        .finally(() => {
          this.schedule(Math.max(0, this.config.PROBE_INTERVAL_MS - (Date.now() - started)));
        });
    }, delayMs);
  }

  /** One round; exposed for tests. Returns how many workloads were probed. */
  async tick(): Promise<number> {
    const lock = await this.redis.set(
      `${this.config.REDIS_PREFIX}:prober:lock`,
      String(process.pid),
      'PX',
      Math.max(1, this.config.PROBE_INTERVAL_MS - 100),
      'NX',
    );
    if (lock !== 'OK') return 0;
    const services = await this.registry.getMany(await this.registry.activeIds());
    // A job being stopped for a vector database's rollover is not probed back to ready.
    const running = services.filter(
      (service) =>
        PROBED_STATES.includes(service.scheduler_state) && service.stopping_job_id !== service.job_id,
    );
    const singles = running.filter((service) => service.replicas.length === 0 && service.endpoint);
    const replicas = running.flatMap((service) =>
      service.replicas.filter((replica) => replica.endpoint).map((replica) => ({ service, replica })),
    );
    await Promise.all([
      ...singles.map((service) => this.probe(service)),
      ...replicas.map(({ service, replica }) => this.probeReplica(service, replica)),
    ]);
    return singles.length + replicas.length;
  }

  private async probeReplica(service: StoredService, replica: StoredReplica): Promise<void> {
    const endpoint = replica.endpoint ?? '';
    const outcome = await probeWorkload(
      endpoint,
      service.readiness_path,
      workloadApiKey(service, replica.index),
      this.config.PROBE_TIMEOUT_MS,
    );
    this.reportUnproven(outcome, service, endpoint, replica.index);
    this.readiness.probed(outcome);
    const ready = outcome === 'ready';
    if (ready !== replica.ready) {
      this.readiness.changed(ready);
      this.logger.info(
        { service_id: service.id, group_id: service.group_id, replica: replica.index, ready },
        'replica readiness changed',
      );
    }
    if (await this.registry.setReplicaReadiness(service.id, replica.index, ready))
      await this.recordStartup(service);
  }

  private async probe(service: StoredService): Promise<void> {
    const endpoint = service.endpoint ?? '';
    const outcome = await probeWorkload(
      endpoint,
      service.readiness_path,
      workloadApiKey(service),
      this.config.PROBE_TIMEOUT_MS,
    );
    this.reportUnproven(outcome, service, endpoint);
    this.readiness.probed(outcome);
    const ready = outcome === 'ready';
    if (ready !== service.ready) {
      this.readiness.changed(ready);
      this.logger.info({ service_id: service.id, endpoint: service.endpoint, ready }, 'readiness changed');
    }
    // Only for the endpoint probed: a rollover may have moved the record to its successor meanwhile.
    if (await this.registry.setReadiness(service.id, ready, new Date(), endpoint))
      await this.recordStartup(service);
  }

  /**
   * A job that was ready for the first time: how long it took from start is what the proxy's
   * Retry-After and the worker's rollover lead time count on for its recipe.
   */
  private async recordStartup(service: StoredService): Promise<void> {
    const started = service.timeline.started_at;
    if (started === null) return;
    const seconds = (Date.now() - Date.parse(started)) / 1000;
    this.logger.info({ service_id: service.id, recipe: service.recipe_name, seconds }, 'first ready');
    await this.registry.recordStartup(service.recipe_name, seconds);
  }

  // An endpoint that answers without holding the key is another process on the workload's port.
  private reportUnproven(
    outcome: ProbeOutcome,
    service: StoredService,
    endpoint: string,
    replica?: number,
  ): void {
    if (outcome !== 'unproven') return;
    this.logger.warn(
      { service_id: service.id, group_id: service.group_id, replica, endpoint },
      'endpoint answers without proving it holds the key; not ready, key withheld',
    );
  }
}
