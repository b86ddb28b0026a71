import { Inject, Injectable } from '@nestjs/common';
import { CONFIG } from '../platform/platform.module';
import type { ProxyConfig } from '../proxy.config';

/**
 * The model ids each replica's workload lists at GET /v1/models, remembered for MODEL_CACHE_MS.
 * Keyed by replica id, not endpoint: a port freed by one job is soon bound by another's workload.
 * Callers bring the loader, so each keeps its own error wording.
 */
@Injectable()
export class ServedModelsCache {
  private readonly entries = new Map<string, { ids: string[]; expires: number }>();
  private readonly loading = new Map<string, Promise<string[]>>();

  constructor(@Inject(CONFIG) private readonly config: ProxyConfig) {}

  /** What is remembered and still fresh, without asking the workload. */
  cached(replicaId: string): string[] | undefined {
    const entry = this.entries.get(replicaId);
    if (entry === undefined) return undefined;
    if (entry.expires > Date.now()) return entry.ids;
    this.entries.delete(replicaId);
    return undefined;
  }

  /** The ids, asking the workload (once, however many callers wait) when none are remembered. */
  get(replicaId: string, load: () => Promise<string[]>): Promise<string[]> {
    const cached = this.cached(replicaId);
    if (cached) return Promise.resolve(cached);
    let pending = this.loading.get(replicaId);
    if (pending === undefined) {
      pending = load()
        .then((ids) => {
          const now = Date.now();
          // Replicas of ended jobs are never asked for again: sweep them out when one is added.
          for (const [id, entry] of this.entries) if (entry.expires <= now) this.entries.delete(id);
          this.entries.set(replicaId, { ids, expires: now + this.config.MODEL_CACHE_MS });
          return ids;
        })
        .finally(() => this.loading.delete(replicaId));
      this.loading.set(replicaId, pending);
    }
    return pending;
  }
}
