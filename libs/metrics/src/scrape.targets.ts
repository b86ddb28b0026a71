/** One scrapeable workload: a single-node service, or one replica of a group. */
export interface ScrapeTarget {
  serviceId: string;
  /** `<job_id>:<port>`. */
  replicaId: string;
  /** `http://<node>:<port>`, or null until known. */
  endpoint: string | null;
  recipeName: string;
  jobId: string;
  kind: string;
  /** The contract's status of this service or replica; only `running` ones are targets. */
  status: string;
}

/** One entry of Prometheus HTTP service discovery (`http_sd_configs`). */
export interface HttpSdTargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

export const METRICS_PATH = '/metrics';

/**
 * Prometheus HTTP SD JSON: one entry per running workload, scraped directly at `host:port/metrics`.
 * Workloads that are not running are left out, so Prometheus drops them instead of failing scrapes.
 */
export function prometheusTargets(replicas: readonly ScrapeTarget[]): HttpSdTargetGroup[] {
  const groups: HttpSdTargetGroup[] = [];
  for (const replica of replicas) {
    if (replica.status !== 'running' || replica.endpoint === null) continue;
    const url = parseHttpUrl(replica.endpoint);
    // A malformed endpoint in one record must not take discovery down for every other service.
    if (!url) continue;
    const labels: Record<string, string> = {
      __metrics_path__: METRICS_PATH,
      service_id: replica.serviceId,
      replica_id: replica.replicaId,
      recipe_name: replica.recipeName,
      job_id: replica.jobId,
      kind: replica.kind,
    };
    if (url.protocol === 'https:') labels.__scheme__ = 'https';
    const port = url.port === '' ? (url.protocol === 'https:' ? '443' : '80') : url.port;
    groups.push({ targets: [`${url.hostname}:${port}`], labels });
  }
  return groups;
}

function parseHttpUrl(endpoint: string): URL | undefined {
  try {
    const url = new URL(endpoint);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}
