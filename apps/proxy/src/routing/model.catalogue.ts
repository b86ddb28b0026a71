import { Inject, Injectable } from '@nestjs/common';
import { deriveStatus, replicaIdOf, type QueueInfo, type ServiceConfig } from '@aiplane/contracts';
import { mergeConfig, type RecipeCatalogue } from '@aiplane/recipes';
import { groupQueue, recordQueue, storedStatus, type GroupView, type StoredService } from '@aiplane/registry';
import { CONFIG, RECIPES, UPSTREAM } from '../platform/platform.module';
import type { ProxyConfig } from '../proxy.config';
import { UpstreamClient } from '../upstream/upstream.client';
import { RoutingViewCache, type RoutingView } from './routing-view.cache';
import { ServedModelsCache } from './served-models.cache';
import { portOf, servingReplica, WorkloadResolver, type ResolvedWorkload } from './workload.resolver';

/**
 * How far a model is from serving, best first: what `/v1/models` shows and `Retry-After` follows.
 * An idle service is furthest: a request has to start it, and then it queues like a pending one.
 */
export type ModelStatus = 'running' | 'configuring' | 'pending' | 'idle';
const RANK: Readonly<Record<ModelStatus, number>> = { running: 0, configuring: 1, pending: 2, idle: 3 };

/** A service or group serving models: its ready replicas and how close the others are. */
interface ServingUnit {
  id: string;
  createdAt: string;
  status: ModelStatus;
  ready: ResolvedWorkload[];
  configuredNames: string[];
  recipeName: string;
  /** While pending. */
  queue?: QueueInfo;
  /** The record of a single service (groups have no idle stop): a request's use is recorded on it. */
  service?: StoredService;
}

export interface CatalogueModel {
  id: string;
  created: number;
  status: ModelStatus;
  services: string[];
  readyReplicas: number;
  /** Every ready replica serving it, in no particular order. */
  ready: ResolvedWorkload[];
  /** While the model is pending: the queue of its service nearest to starting. */
  queue?: QueueInfo;
  /** The recipe of its service nearest to serving, whose observed start-up Retry-After uses. */
  recipeName: string;
  /** Its single services' records, for idle stop: a request for the model uses them, or starts the idle ones. */
  members: StoredService[];
}

/**
 * Which models the vLLM services and groups serve, from the in-memory routing view. Before a
 * replica is ready, a unit serves what it was started with (VLLM_SERVED_MODEL_NAME, a
 * space-separated list as --served-model-name takes, else VLLM_MODEL, else its recipe's default);
 * once one is, the ids its workload lists are authoritative.
 */
@Injectable()
export class ModelCatalogue {
  private readonly configured = new Map<string, string[]>();
  private memo: { view: RoutingView; list: CatalogueModel[]; until: number } | undefined;

  constructor(
    private readonly routing: RoutingViewCache,
    private readonly resolver: WorkloadResolver,
    private readonly servedModels: ServedModelsCache,
    @Inject(UPSTREAM) private readonly upstream: UpstreamClient,
    @Inject(RECIPES) private readonly recipes: RecipeCatalogue,
    @Inject(CONFIG) private readonly config: ProxyConfig,
  ) {}

  /**
   * The list is a function of the routing view and of what the workloads listed, so a request
   * reuses the last one built for the same view (for at most ROUTING_CACHE_MS, which bounds how
   * long an expired workload listing is trusted) instead of rebuilding it.
   */
  async models(): Promise<CatalogueModel[]> {
    const view = await this.routing.view();
    const memo = this.memo;
    if (memo?.view === view && Date.now() < memo.until) return memo.list;
    const { list, complete } = await this.build(view);
    // A listing that failed is asked again by the next request, not remembered.
    this.memo = complete ? { view, list, until: Date.now() + this.config.ROUTING_CACHE_MS } : undefined;
    return list;
  }

  private async build(view: RoutingView): Promise<{ list: CatalogueModel[]; complete: boolean }> {
    const units: ServingUnit[] = [];
    for (const service of view.services.values()) {
      // A rollover successor serves under its service's id once it takes over, not before.
      const unit =
        service.kind === 'vllm' && service.group_id === null && !service.rollover_of
          ? this.single(service)
          : undefined;
      if (unit) units.push(unit);
    }
    for (const group of view.groups.values()) {
      const unit = group.group.kind === 'vllm' ? this.group(group) : undefined;
      if (unit) units.push(unit);
    }
    // Ended services leave the view; their worked-out names go with them, so the map stays bounded.
    const live = new Set(units.map((unit) => unit.id));
    for (const id of this.configured.keys()) if (!live.has(id)) this.configured.delete(id);
    const byName = new Map<string, CatalogueModel>();
    const named = await Promise.all(units.map(async (unit) => ({ unit, ...(await this.namesOf(unit)) })));
    const complete = named.every(({ listed }) => listed);
    for (const { unit, names } of named) {
      for (const name of names) {
        const created = Math.floor(Date.parse(unit.createdAt) / 1000);
        const model = byName.get(name) ?? {
          id: name,
          created,
          status: unit.status,
          services: [],
          readyReplicas: 0,
          ready: [],
          recipeName: unit.recipeName,
          members: [],
        };
        model.created = Math.min(model.created, created);
        if (RANK[unit.status] < RANK[model.status]) {
          model.status = unit.status;
          model.recipeName = unit.recipeName;
        }
        model.services.push(unit.id);
        model.readyReplicas += unit.ready.length;
        model.ready.push(...unit.ready);
        if (unit.service) model.members.push(unit.service);
        if (unit.queue && (!model.queue || startsSooner(unit.queue, model.queue))) model.queue = unit.queue;
        byName.set(name, model);
      }
    }
    // Only a model nothing better than pending serves shows where it waits.
    for (const model of byName.values()) if (model.status !== 'pending') delete model.queue;
    const list = [...byName.values()].sort((a, b) => a.created - b.created || a.id.localeCompare(b.id));
    return { list, complete };
  }

  /** The model's ready replicas in the order to try them: round-robin over all, then the others. */
  candidates(model: CatalogueModel): ResolvedWorkload[] {
    return this.resolver.rotate(`model:${model.id}`, model.ready);
  }

  private single(service: StoredService): ServingUnit | undefined {
    const status = modelStatus(storedStatus(service));
    if (status === undefined) return undefined;
    const ready: ResolvedWorkload[] =
      status === 'running' && service.endpoint
        ? [
            {
              service,
              endpoint: service.endpoint,
              replicaId: replicaIdOf(service.job_id, portOf(service.endpoint), 0),
            },
          ]
        : [];
    const queue = recordQueue(service);
    return {
      id: service.id,
      createdAt: service.created_at,
      status,
      ready,
      configuredNames: this.configuredNames(service.id, service.recipe_name, service.config),
      recipeName: service.recipe_name,
      ...(queue ? { queue } : {}),
      service,
    };
  }

  private group(view: GroupView): ServingUnit | undefined {
    const { group, jobs } = view;
    const ready: ResolvedWorkload[] = [];
    let status: ModelStatus | undefined;
    for (const job of jobs) {
      for (const replica of job.replicas) {
        const replicaState = modelStatus(deriveStatus(job.scheduler_state, replica.ready));
        if (replicaState === undefined) continue;
        if (status === undefined || RANK[replicaState] < RANK[status]) status = replicaState;
        const workload = servingReplica(group, job, replica);
        if (workload) ready.push(workload);
      }
    }
    if (status === undefined) return undefined;
    const unitStatus = ready.length > 0 ? 'running' : status === 'running' ? 'configuring' : status;
    const queue = groupQueue(view, unitStatus);
    return {
      id: group.id,
      createdAt: group.created_at,
      status: unitStatus,
      ready,
      configuredNames: this.configuredNames(group.id, group.recipe_name, group.config),
      recipeName: group.recipe_name,
      ...(queue ? { queue } : {}),
    };
  }

  /** The unit's model names; `listed` is false when a ready workload could not be asked. */
  private async namesOf(unit: ServingUnit): Promise<{ names: string[]; listed: boolean }> {
    const lists = await Promise.all(
      unit.ready.map((workload) =>
        this.servedModels
          .get(workload.replicaId, () => this.listModels(workload))
          .catch((): undefined => undefined),
      ),
    );
    const names = [...new Set(lists.flatMap((ids) => ids ?? []))];
    return {
      names: names.length > 0 ? names : unit.configuredNames,
      listed: lists.every((ids) => ids !== undefined),
    };
  }

  private async listModels(workload: ResolvedWorkload): Promise<string[]> {
    const response = await this.upstream.request(workload, 'GET', '/v1/models');
    if (response.status !== 200) throw new Error(`GET /v1/models answered ${response.status}`);
    const data = (JSON.parse(response.body.toString('utf8')) as { data?: unknown }).data;
    return Array.isArray(data)
      ? data.flatMap((entry) => {
          const id = (entry as { id?: unknown } | null)?.id;
          return typeof id === 'string' ? [id] : [];
        })
      : [];
  }

  /** Records never change what they were started with, so this is worked out once per id. */
  private configuredNames(id: string, recipeName: string, config: ServiceConfig): string[] {
    let names = this.configured.get(id);
    if (names === undefined) {
      const environment = this.environmentOf(recipeName, config);
      const served = environment.VLLM_SERVED_MODEL_NAME?.split(/\s+/).filter((name) => name !== '') ?? [];
      const model = environment.VLLM_MODEL;
      names = served.length > 0 ? served : model ? [model] : [];
      this.configured.set(id, names);
    }
    return names;
  }

  private environmentOf(recipeName: string, config: ServiceConfig): Record<string, string | undefined> {
    const recipe = this.recipes.resolve(recipeName);
    if (recipe) {
      try {
        // The orchestrator's own merge, so the flat `model` and the nested environment mean the same here.
        return mergeConfig(recipe, config).environment;
      } catch {
        // A record from before a recipe change: fall through to a plain reading.
      }
    }
    const flatModel = (config as { model?: unknown }).model;
    return {
      ...recipe?.environment,
      ...(typeof flatModel === 'string' ? { VLLM_MODEL: flatModel } : {}),
      ...Object.fromEntries(
        Object.entries(config.environment ?? {}).map(([name, value]) => [name, String(value)]),
      ),
    };
  }
}

function modelStatus(status: string): ModelStatus | undefined {
  return status === 'running' || status === 'configuring' || status === 'pending' || status === 'idle'
    ? status
    : undefined;
}

/** The lower position first (unknown last), then the earlier estimate. */
function startsSooner(a: QueueInfo, b: QueueInfo): boolean {
  const position = (queue: QueueInfo): number => queue.position ?? Number.MAX_SAFE_INTEGER;
  const start = (queue: QueueInfo): number =>
    queue.estimated_start === null ? Number.MAX_SAFE_INTEGER : Date.parse(queue.estimated_start);
  return position(a) !== position(b) ? position(a) < position(b) : start(a) < start(b);
}
