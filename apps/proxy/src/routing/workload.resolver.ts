import { Inject, Injectable } from '@nestjs/common';
import {
  isGroupId,
  overallStatus,
  replicaIdOf,
  replicaStatus,
  type GroupOverallStatus,
  type JobState,
  type QueueInfo,
  type ServiceStatus,
} from '@aiplane/contracts';
import {
  groupQueue,
  recordQueue,
  ServiceRegistry,
  storedStatus,
  type GroupView,
  type StoredGroup,
  type StoredReplica,
  type StoredService,
  type WorkloadKind,
} from '@aiplane/registry';
import { AppError, NotFoundError } from '@aiplane/server-kit';
import { retryAfterSeconds, type RetryHint, type RetryHinted } from '../data-plane/error-body.writer';
import { CONFIG } from '../platform/platform.module';
import type { ProxyConfig } from '../proxy.config';
import { IdleService } from './idle.service';
import { RoutingViewCache } from './routing-view.cache';

/**
 * One workload endpoint a request for a service or group id goes to. (A "target" in this repository
 * is only ever a Prometheus scrape target, the orchestrator's /targets.)
 */
export interface ResolvedWorkload {
  /** The scheduler job serving this workload (a group's node job, or the single service). */
  service: StoredService;
  /** Replica id as the contract shows it: `<job_id>:<port>`. */
  replicaId: string;
  endpoint: string;
  /** Set for replicas of a group. */
  replicaIndex?: number;
  group?: { id: string; totalReplicas: number };
}

export class NotReadyError extends AppError implements RetryHinted {
  constructor(
    id: string,
    status: ServiceStatus | GroupOverallStatus,
    queue?: QueueInfo,
    readonly retryHint?: RetryHint,
    retryAfterS?: number,
  ) {
    super(
      503,
      'Service not ready',
      notReadyMessage(id, status),
      {
        status,
        // Where it waits, as its record shows it: the client need not ask /status to learn why.
        ...(queue ? { queue } : {}),
      },
      // For the routes Nest answers (vector-db), whose error filter sets Retry-After from it.
      retryAfterS,
    );
  }
}

function notReadyMessage(id: string, status: ServiceStatus | GroupOverallStatus): string {
  if (status === 'idle')
    return `Service ${id} was stopped after its idle_timeout without use; this request starts it again, retry once it is running`;
  return `Service ${id} is ${status}; it accepts requests once it is running`;
}

export const SERVING_STATES: readonly JobState[] = ['RUNNING', 'COMPLETING'];

/**
 * Turns a service or group id into the workload endpoints to call, from the records the worker and
 * prober keep, as the in-memory routing view holds them; an id the view does not know (a terminal
 * service, one created a moment ago) is read from the registry. Groups rotate round-robin over
 * their ready replicas.
 */
@Injectable()
export class WorkloadResolver {
  private readonly cursors = new Map<string, number>();

  constructor(
    private readonly registry: ServiceRegistry,
    private readonly routing: RoutingViewCache,
    private readonly idle: IdleService,
    @Inject(CONFIG) private readonly config: ProxyConfig,
  ) {}

  private async notReady(
    id: string,
    status: ServiceStatus | GroupOverallStatus,
    recipeName: string,
    queue: QueueInfo | undefined,
  ): Promise<NotReadyError> {
    const hint = await this.retryHint(recipeName, queue);
    return new NotReadyError(id, status, queue, hint, retryAfterSeconds(status, this.config, hint));
  }

  /** The one endpoint to call now (the next replica in rotation for a group). */
  async resolve(id: string, kind: WorkloadKind): Promise<ResolvedWorkload> {
    const [first] = await this.candidates(id, kind);
    if (!first) throw new NotFoundError(`Service ${id} not found`);
    return first;
  }

  /**
   * Every ready endpoint, in the order to try them: the rotation's next replica first, then the
   * others, so a caller can fail over without a second lookup. Only data-plane requests come here
   * (metrics scrapes read the records themselves), so each call is a use of the service for its
   * idle timeout, and a call for an idle service starts it again.
   */
  async candidates(id: string, kind: WorkloadKind): Promise<ResolvedWorkload[]> {
    const routing = await this.routing.view();
    const service = isGroupId(id) ? undefined : (routing.services.get(id) ?? (await this.registry.get(id)));
    const groupId = isGroupId(id) ? id : service?.group_id;
    const label = kind === 'vllm' ? 'vLLM' : 'Vector DB';
    if (groupId) {
      const view = routing.groups.get(groupId) ?? (await this.registry.getGroupView(groupId));
      if (!view || view.group.kind !== kind) throw new NotFoundError(`${label} service ${id} not found`);
      return await this.groupCandidates(id, view);
    }
    if (!service || service.kind !== kind) throw new NotFoundError(`${label} service ${id} not found`);
    const status = storedStatus(service);
    await this.idle.used(service, status);
    if (status !== 'running' || !service.endpoint) {
      const queue = recordQueue(service);
      throw await this.notReady(id, status, service.recipe_name, queue);
    }
    return [
      {
        service,
        endpoint: service.endpoint,
        replicaId: replicaIdOf(service.job_id, portOf(service.endpoint), 0),
      },
    ];
  }

  private async groupCandidates(id: string, view: GroupView): Promise<ResolvedWorkload[]> {
    const { group, jobs } = view;
    const ready: ResolvedWorkload[] = [];
    const statuses: ServiceStatus[] = [];
    for (const job of jobs) {
      for (const replica of job.replicas) {
        statuses.push(replicaStatus(job.scheduler_state, replica.ready, replica.seen_ready));
        const workload = servingReplica(group, job, replica);
        if (workload) ready.push(workload);
      }
    }
    if (ready.length === 0) {
      const status = overallStatus(statuses);
      const queue = groupQueue(view, status);
      throw await this.notReady(id, status, group.recipe_name, queue);
    }
    return this.rotate(group.id, ready);
  }

  private async retryHint(recipeName: string, queue: QueueInfo | undefined): Promise<RetryHint> {
    return {
      estimatedStart: queue?.estimated_start ?? null,
      startupSeconds: await this.observedStartupSeconds(recipeName),
    };
  }

  /**
   * The longest start-up (started → ready) the prober observed for a recipe, for Retry-After; null
   * before any, and Retry-After falls back to the configured RETRY_AFTER_*_S.
   */
  observedStartupSeconds(recipeName: string): Promise<number | null> {
    return this.registry.longestStartupSeconds(recipeName);
  }

  /** `ready` starting at the rotation's next one for `key`, the others after it for failing over. */
  rotate<T>(key: string, ready: readonly T[]): T[] {
    const cursor = this.cursors.get(key) ?? 0;
    this.cursors.set(key, cursor + 1);
    const start = cursor % ready.length;
    return [...ready.slice(start), ...ready.slice(0, start)];
  }
}

/** A group's replica as a workload to call, when it serves now (ready, with an endpoint, its job running). */
export function servingReplica(
  group: StoredGroup,
  job: StoredService,
  replica: StoredReplica,
): ResolvedWorkload | undefined {
  if (!replica.ready || !replica.endpoint || !SERVING_STATES.includes(job.scheduler_state)) return undefined;
  return {
    service: job,
    endpoint: replica.endpoint,
    replicaId: replicaIdOf(job.job_id, portOf(replica.endpoint), replica.index),
    replicaIndex: replica.index,
    group: { id: group.id, totalReplicas: group.total_replicas },
  };
}

export function portOf(endpoint: string): number {
  return Number(new URL(endpoint).port);
}
