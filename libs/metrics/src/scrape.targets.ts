import { isServiceId, type HttpSdTargetGroup, type ScrapeOrigin } from '@aiplane/contracts';

// Defined with the other shapes that cross the API; re-exported for discovery's callers.
export type { HttpSdTargetGroup };

/** One service or replica group, as discovery offers it to Prometheus. */
export interface ScrapeTarget {
  /** The service id, or the group id (`sg-<job id>`) for a replica group. */
  serviceId: string;
  recipeName: string;
  kind: string;
  /** The contract's status: a service's, or a group's overall status. */
  status: string;
}

/**
 * Statuses in which a service or group has a workload answering: a group counts while any replica
 * serves. Anything else is left out, so Prometheus drops its target once it stops serving.
 */
export const SERVING_STATUSES: readonly string[] = ['running', 'partially_running', 'degraded'];

/** The control plane's metrics route of one service under an API prefix (`/api/v1` or `/api`). */
export function metricsPath(prefix: string, serviceId: string): string {
  return `${prefix}/services/${encodeURIComponent(serviceId)}/metrics`;
}

/**
 * Prometheus HTTP SD JSON: one entry per serving service or group, scraped through the control
 * plane at `origin` (the API the caller reached), never at the workload's own port: every workload
 * refuses callers without its per-job key, which only the control plane holds. The scraped text
 * labels each sample with `service_id` and `replica_id` itself, so there is no `replica_id` here.
 */
export function prometheusTargets(
  services: readonly ScrapeTarget[],
  origin: ScrapeOrigin,
): HttpSdTargetGroup[] {
  const groups: HttpSdTargetGroup[] = [];
  for (const service of services) {
    if (!SERVING_STATUSES.includes(service.status)) continue;
    // A malformed id in one record must not take discovery down for every other service.
    if (!isServiceId(service.serviceId)) continue;
    groups.push(
      sdGroup(origin, metricsPath(origin.prefix, service.serviceId), {
        service_id: service.serviceId,
        recipe_name: service.recipeName,
        kind: service.kind,
      }),
    );
  }
  return groups;
}

/** One SD group scraped at `origin` on `path`, with `extra` labels after Prometheus' own. */
function sdGroup(origin: ScrapeOrigin, path: string, extra: Record<string, string>): HttpSdTargetGroup {
  const labels: Record<string, string> = { __metrics_path__: path };
  if (origin.scheme === 'https') labels.__scheme__ = 'https';
  return { targets: [origin.host], labels: { ...labels, ...extra } };
}

/** The control plane's metrics route of one app under an API prefix (`/api/v1` or `/api`). */
function appMetricsPath(prefix: string, app: string): string {
  return `${prefix}/metrics/${encodeURIComponent(app)}`;
}

/**
 * Prometheus HTTP SD entries for the control plane itself: one per app in `apps`, each scraped at
 * `origin` through the metrics route, labelled `app` (the samples carry the same label).
 */
export function controlPlaneTargets(apps: readonly string[], origin: ScrapeOrigin): HttpSdTargetGroup[] {
  return apps.map((app) =>
    sdGroup(origin, appMetricsPath(origin.prefix, app), { app, kind: 'control-plane' }),
  );
}
