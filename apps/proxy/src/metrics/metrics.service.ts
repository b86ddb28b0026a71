import { Inject, Injectable } from '@nestjs/common';
import { isGroupId, replicaIdOf } from '@aiplane/contracts';
import { mergeExpositions, MetricsParseError, statusGauge, type ExpositionPart } from '@aiplane/metrics';
import {
  ServiceRegistry,
  storedStatus,
  toGroupRecord,
  type StoredService,
  type WorkloadKind,
} from '@aiplane/registry';
import { NotFoundError, UnavailableError, UpstreamError, type Logger } from '@aiplane/server-kit';
import { LOGGER, UPSTREAM } from '../platform/platform.module';
import { WorkloadCaller } from '../routing/workload.caller';
import { UpstreamClient } from '../upstream/upstream.client';

const KIND_NAMES: Readonly<Record<WorkloadKind, string>> = {
  vllm: 'vLLM service',
  qdrant: 'Vector DB service',
};

/**
 * A service's Prometheus exposition: the workload's own metrics with `service_id` and `replica_id`
 * on every sample, plus `aiplane_service_up`. A service that is queued, loading or finished has no
 * workload to scrape and answers with the gauge alone, so that Prometheus scrapes keep succeeding
 * through a job's whole life. The record is read here rather than through WorkloadResolver, which
 * refuses services that are not running.
 */
@Injectable()
export class MetricsService {
  constructor(
    private readonly registry: ServiceRegistry,
    private readonly caller: WorkloadCaller,
    @Inject(UPSTREAM) private readonly upstream: UpstreamClient,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** `kind` restricts the id to one workload kind (the vllm and vector-db routes); any kind otherwise. */
  async scrape(id: string, kind?: WorkloadKind): Promise<string> {
    const service = isGroupId(id) ? undefined : await this.registry.get(id);
    const groupId = isGroupId(id) ? id : service?.group_id;
    if (groupId) return this.scrapeGroup(id, groupId, kind);
    return this.scrapeService(id, service, kind);
  }

  /**
   * Every serving replica's metrics, each labelled with its replica id, in one exposition (one
   * family block per metric, as Prometheus requires). A replica that cannot be scraped is left out
   * and marked down rather than failing the whole scrape: the others still have something to say.
   */
  private async scrapeGroup(id: string, groupId: string, kind?: WorkloadKind): Promise<string> {
    const view = await this.registry.getGroupView(groupId);
    if (!view || (kind !== undefined && view.group.kind !== kind)) {
      throw new NotFoundError(`${kind === undefined ? 'Service' : KIND_NAMES[kind]} ${id} not found`);
    }
    const record = toGroupRecord(view);
    const parts: ExpositionPart[] = [];
    for (const job of view.jobs) {
      for (const replica of job.replicas) {
        if (!replica.ready || replica.endpoint === null) continue;
        const replicaId = replicaIdOf(job.job_id, Number(new URL(replica.endpoint).port), replica.index);
        try {
          const text = await this.fetch(job, replica.endpoint, replicaId, replica.index);
          parts.push({ labels: { service_id: groupId, replica_id: replicaId }, text });
        } catch (error) {
          this.logger.warn(
            { replica: replicaId, err: error instanceof Error ? error.message : error },
            'replica scrape failed',
          );
        }
      }
    }
    parts.push({ labels: {}, text: statusGauge(groupId, record.status) });
    try {
      return mergeExpositions(parts);
    } catch (error) {
      if (error instanceof MetricsParseError)
        throw new UpstreamError(
          `A replica of ${id} answered /metrics with text that is not Prometheus format: ${error.message}`,
        );
      throw error;
    }
  }

  private async scrapeService(
    id: string,
    service: StoredService | undefined,
    kind?: WorkloadKind,
  ): Promise<string> {
    if (!service || (kind !== undefined && service.kind !== kind)) {
      throw new NotFoundError(`${kind === undefined ? 'Service' : KIND_NAMES[kind]} ${id} not found`);
    }
    const status = storedStatus(service);
    if (status !== 'running' || service.endpoint === null) return statusGauge(id, status);
    const replicaId = `${service.job_id}:${new URL(service.endpoint).port}`;
    const parts: ExpositionPart[] = [
      {
        labels: { service_id: id, replica_id: replicaId },
        text: await this.fetch(service, service.endpoint, replicaId),
      },
      { labels: {}, text: statusGauge(id, status) },
    ];
    try {
      return mergeExpositions(parts);
    } catch (error) {
      if (error instanceof MetricsParseError) {
        throw new UpstreamError(
          `Replica ${replicaId} of service ${id} answered /metrics with text that is not Prometheus format: ${error.message}`,
        );
      }
      throw error;
    }
  }

  private async fetch(
    service: StoredService,
    endpoint: string,
    replicaId: string,
    replicaIndex?: number,
  ): Promise<string> {
    // As for prompts: a workload that refuses connections is out of rotation until the prober sees it again.
    const response = await this.caller.call(
      [{ service, endpoint, replicaId, replicaIndex }],
      (workload) => this.upstream.request(workload, 'GET', '/metrics', undefined, { accept: 'text/plain' }),
      (attempted, reason) =>
        new UnavailableError(
          `Replica ${replicaId} of service ${service.id} could not be reached: ${reason}`,
          {
            attempted_replicas: attempted,
          },
        ),
    );
    if (response.status !== 200) {
      throw new UpstreamError(
        `Replica ${replicaId} of service ${service.id} answered /metrics with HTTP ${response.status}`,
      );
    }
    return response.body.toString('utf8');
  }
}
