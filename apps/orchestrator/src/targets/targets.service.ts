import { Injectable } from '@nestjs/common';
import { deriveStatus } from '@aiplane/contracts';
import { prometheusTargets, type HttpSdTargetGroup, type ScrapeTarget } from '@aiplane/metrics';
import { ServiceRegistry, type StoredService } from '@aiplane/registry';

/** Prometheus HTTP service discovery over the service records: every running workload, scraped directly. */
@Injectable()
export class TargetsService {
  constructor(private readonly registry: ServiceRegistry) {}

  async targets(): Promise<HttpSdTargetGroup[]> {
    return prometheusTargets((await this.registry.list()).map(scrapeTargetOf));
  }
}

function scrapeTargetOf(service: StoredService): ScrapeTarget {
  return {
    serviceId: service.id,
    replicaId: `${service.job_id}:${portOf(service.endpoint)}`,
    endpoint: service.endpoint,
    recipeName: service.recipe_name,
    jobId: service.job_id,
    kind: service.kind,
    status: deriveStatus(service.scheduler_state, service.ready),
  };
}

function portOf(endpoint: string | null): string {
  if (endpoint === null) return '';
  try {
    return new URL(endpoint).port;
  } catch {
    // prometheusTargets leaves such a record out; its replica id is never shown.
    return '';
  }
}
