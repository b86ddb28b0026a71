import { Injectable } from '@nestjs/common';
import { CONTROL_PLANE_APPS, type ScrapeOrigin } from '@aiplane/contracts';
import {
  controlPlaneTargets,
  prometheusTargets,
  type HttpSdTargetGroup,
  type ScrapeTarget,
} from '@aiplane/metrics';
import { ServiceRegistry, storedStatus, toGroupRecord, type RegistryEntry } from '@aiplane/registry';

/**
 * Prometheus HTTP service discovery: the control plane's own apps, then every serving service or
 * group over the records, scraped through the control plane's metrics route, which adds the
 * workload's key.
 */
@Injectable()
export class TargetsService {
  constructor(private readonly registry: ServiceRegistry) {}

  /**
   * `origin` is the API as the caller reached it: the gateway's, or this orchestrator's; only a
   * caller that came through the gateway can scrape the gateway.
   */
  async targets(origin: ScrapeOrigin, viaGateway: boolean): Promise<HttpSdTargetGroup[]> {
    const entries = await this.registry.listEntries();
    const apps = CONTROL_PLANE_APPS.filter((app) => viaGateway || app !== 'gateway');
    return [...controlPlaneTargets(apps, origin), ...prometheusTargets(entries.map(scrapeTargetOf), origin)];
  }
}

/** One target per service or group: the group's route merges its replicas, each under its replica_id. */
function scrapeTargetOf(entry: RegistryEntry): ScrapeTarget {
  if (entry.type === 'group') {
    return {
      serviceId: entry.group.id,
      recipeName: entry.group.recipe_name,
      kind: entry.group.kind,
      status: toGroupRecord(entry).status,
    };
  }
  const { service } = entry;
  return {
    serviceId: service.id,
    recipeName: service.recipe_name,
    kind: service.kind,
    status: storedStatus(service),
  };
}
