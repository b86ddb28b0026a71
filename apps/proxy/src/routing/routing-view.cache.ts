import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import {
  REDIS,
  registryChangesChannel,
  ServiceRegistry,
  type GroupView,
  type StoredService,
} from '@aiplane/registry';
import type { Logger } from '@aiplane/server-kit';
import { CONFIG, LOGGER } from '../platform/platform.module';
import type { ProxyConfig } from '../proxy.config';

/** One warning per interval while the registry cannot be read, not one per request. */
const STALE_WARNING_INTERVAL_MS = 10_000;

/**
 * The records requests are routed by: every non-terminal service (node jobs included, idle ones
 * too, which a request for their model starts again) and their groups.
 */
export interface RoutingView {
  services: ReadonlyMap<string, StoredService>;
  groups: ReadonlyMap<string, GroupView>;
}

/**
 * The routing view in memory, so that a request costs no Redis read. It is re-read when the
 * registry announces a change (on a subscriber connection of its own) and at the latest
 * ROUTING_CACHE_MS after the last read, which bounds the staleness when an announcement is missed
 * (a reconnecting subscriber, a writer that does not announce). Concurrent readers share one read.
 */
@Injectable()
export class RoutingViewCache implements OnModuleInit, OnModuleDestroy {
  private current: { view: RoutingView; loadedAt: number; generation: number } | undefined;
  private loading: Promise<RoutingView> | undefined;
  private generation = 0;
  private subscriber: Redis | undefined;
  private lastStaleWarning = 0;

  constructor(
    private readonly registry: ServiceRegistry,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) private readonly config: ProxyConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    const subscriber = this.redis.duplicate();
    this.subscriber = subscriber;
    subscriber.on('message', () => {
      this.invalidate();
    });
    // Announcements sent while it was away are lost: start again from the records.
    subscriber.on('ready', () => {
      this.invalidate();
    });
    subscriber.on('error', (error: Error) => {
      this.logger.warn({ err: error.message }, 'registry change subscription failed; re-reading by time');
    });
    try {
      await subscriber.subscribe(registryChangesChannel(this.config.REDIS_PREFIX));
    } catch (error) {
      // Redis may be down at start; ioredis re-subscribes when it comes back, and the TTL holds meanwhile.
      this.logger.warn({ err: String(error) }, 'cannot subscribe to registry changes yet');
    }
  }

  onModuleDestroy(): void {
    this.subscriber?.disconnect();
  }

  /** Marks the view stale: the next reader re-reads it. */
  invalidate(): void {
    this.generation += 1;
  }

  /**
   * The view to route by. A view merely older than ROUTING_CACHE_MS is served while a re-read runs
   * behind it; one the registry announced a change for is re-read first. When the re-read fails
   * (Redis is away) the last view keeps serving: the workloads are still where it says they are.
   */
  async view(): Promise<RoutingView> {
    const current = this.current;
    if (current && current.generation === this.generation) {
      if (Date.now() - current.loadedAt >= this.config.ROUTING_CACHE_MS) {
        this.reload().catch((error: unknown) => {
          this.warnStale(error);
        });
      }
      return current.view;
    }
    try {
      return await this.reload();
    } catch (error) {
      if (!current) throw error;
      this.warnStale(error);
      return current.view;
    }
  }

  private reload(): Promise<RoutingView> {
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private warnStale(error: unknown): void {
    const now = Date.now();
    if (now - this.lastStaleWarning < STALE_WARNING_INTERVAL_MS) return;
    this.lastStaleWarning = now;
    this.logger.warn(
      { err: error instanceof Error ? error.message : String(error) },
      'cannot re-read the routing view; routing by the last one read',
    );
  }

  private async load(): Promise<RoutingView> {
    // A change announced while reading leaves the result marked stale, so the next reader re-reads.
    const generation = this.generation;
    const loadedAt = Date.now();
    const [activeIds, idleIds] = await Promise.all([this.registry.activeIds(), this.registry.idleIds()]);
    const active = await this.registry.getMany([...new Set([...activeIds, ...idleIds])]);
    const services = new Map(active.map((service) => [service.id, service]));
    const groupIds = [...new Set(active.flatMap((service) => (service.group_id ? [service.group_id] : [])))];
    const groups = new Map<string, GroupView>();
    for (const view of await Promise.all(groupIds.map((id) => this.registry.getGroupView(id)))) {
      if (view) groups.set(view.group.id, view);
    }
    const view: RoutingView = { services, groups };
    this.current = { view, loadedAt, generation };
    return view;
  }
}
