import type { JobState, QueueInfo, ServiceConfig } from '@aiplane/contracts';

export type WorkloadKind = 'vllm' | 'qdrant';

/**
 * What the orchestrator stores before the scheduler has a job id. It holds the user's config with
 * secrets, because the job needs them; the worker removes the config once the job is submitted.
 */
export interface Submission {
  id: string;
  recipe_name: string;
  config: ServiceConfig;
  request_id: string;
  created_at: string;
  job_id?: string;
  /**
   * One API key per node job, stored by the worker before its first sbatch so that a retry which
   * adopts an already submitted job knows the key that job was started with. Dropped with the config.
   */
  api_keys?: string[];
  /** sha256 of the create's canonical body: the same Idempotency-Key with another body is refused. */
  body_sha256?: string;
  /** Found by the orchestrator's checks at create time; the worker copies them into the records. */
  warnings?: string[];
}

/** A service as stored: the public record's fields plus what the control plane needs internally. */
export interface StoredService {
  id: string;
  job_id: string;
  name: string;
  recipe_name: string;
  kind: WorkloadKind;
  /** Secrets already replaced by `***`. */
  config: ServiceConfig;
  created_at: string;
  updated_at: string;
  submission_id: string;
  job_dir: string;
  readiness_path: string;
  scheduler_state: JobState;
  endpoint: string | null;
  node: string | null;
  ready: boolean;
  status_reason: string | null;
  exit_code: number | null;
  last_probe_at: string | null;
  /** Set on the node jobs of a replica group; such jobs are listed through their group only. */
  group_id: string | null;
  node_index: number | null;
  /** Empty for a single-workload service. */
  replicas: StoredReplica[];
  /**
   * The key the workload was started with; the proxy sends it on every call. Internal: never part
   * of a record a client sees, never logged. Absent on records from before keys existed.
   */
  api_key?: string;
  /** The record's `warnings`; absent on records from before they existed, which read as none. */
  warnings?: string[];
  /** The scheduler's queue as the last poll saw it while the job was pending; absent otherwise. */
  queue?: QueueInfo;
  /**
   * Set while the service is stopped for idleness (its status is `idle`): when its job was
   * cancelled. Cleared when a request starts it again. Absent otherwise.
   */
  idle_since?: string;
  /** Which job of the service `job_id` is: 1 for the first, counting up with each restart. Absent = 1. */
  generation?: number;
}

/** One workload process of a group's node job; endpoint and readiness are written by different apps. */
export interface StoredReplica {
  index: number;
  gpu_ids: string[];
  endpoint: string | null;
  ready: boolean;
  /** Whether it ever answered: a replica that stops answering afterwards has failed. */
  seen_ready: boolean;
  /** The port it last listened on, kept once its endpoint is cleared: a replica's id must not change when it dies. */
  last_port?: number;
}

export interface StoredGroup {
  id: string;
  /** Node jobs in node order; the first one's id names the group. */
  job_ids: string[];
  name: string;
  recipe_name: string;
  kind: WorkloadKind;
  config: ServiceConfig;
  created_at: string;
  submission_id: string;
  total_replicas: number;
  gpu_per_replica: number;
  base_port: number;
  /** The group record's `warnings`; absent on records from before they existed. */
  warnings?: string[];
}

export interface SchedulerObservation {
  /** The job this is about; when set, it is applied only while the record's job is that one. */
  jobId?: string;
  state: JobState;
  node?: string | null;
  reason?: string | null;
  exitCode?: number | null;
  endpoint?: string | null;
  /** Replica index → endpoint, for replicas whose endpoint just became known; null for one that ended. */
  replicaEndpoints?: Record<number, string | null>;
  /** The queue while pending; null clears it once the job left the queue. */
  queue?: QueueInfo | null;
}
