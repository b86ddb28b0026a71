import { Injectable } from '@nestjs/common';
import { deriveStatus } from '@aiplane/contracts';
import { prometheusTargets, type HttpSdTargetGroup, type ScrapeTarget } from '@aiplane/metrics';
import { replicaRecords, ServiceRegistry, type GroupView, type StoredService } from '@aiplane/registry';

/** Prometheus HTTP service discovery over the service records: every running workload, scraped directly. */
@Injectable()
export class TargetsService {
  constructor(private readonly registry: ServiceRegistry) {}

  async targets(): Promise<HttpSdTargetGroup[]> {
    const entries = await this.registry.listEntries();
    return prometheusTargets(
      entries.flatMap((entry) =>
        entry.type === 'service' ? [scrapeTargetOf(entry.service)] : groupTargets(entry),
      ),
    );
  }
}

/** One target per replica, so Prometheus scrapes each workload process itself. */
function groupTargets(view: GroupView): ScrapeTarget[] {
  return replicaRecords(view).map((replica) => ({
    serviceId: view.group.id,
    replicaId: replica.id,
    endpoint: replica.endpoint,
    recipeName: view.group.recipe_name,
    jobId: replica.job_id,
    kind: view.group.kind,
    status: replica.status,
  }));
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
