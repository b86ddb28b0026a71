import type {
  GenerationRecord,
  JobState,
  QueueInfo,
  RolloverState,
  ServiceConfig,
  Timeline,
} from '@aiplane/contracts';

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
  /** Of the service as a whole: a rollover moves `job_id` on, never these. */
  timeline: Timeline;
  /** 1 for the first job; each rollover successor counts up. */
  generation: number;
  /** Every job the service ran as; absent until its first rollover (then the current job alone). */
  generations?: GenerationRecord[];
  /** A single service's rollover; absent means `scheduled` or `off` as its config and job say. */
  rollover_state?: RolloverState;
  rollover_message?: string | null;
  /** On a single service while its successor is queued or starting: the successor's record id. */
  successor_id?: string | null;
  /** On a single service's successor record: the service it will take over. */
  rollover_of?: string | null;
  /**
   * A vector database's job being stopped for its rollover: while `job_id` is this one, the record
   * belongs to the rollover handler and the poll leaves it alone (its cancel is no end).
   */
  stopping_job_id?: string | null;
  /**
   * Set while the service is stopped for idleness (its status is `idle`): when its job was
   * cancelled. Cleared when a request starts it again. Absent otherwise.
   */
  idle_since?: string;
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
  /** 1 until the group's first rollover; `job_ids` are this generation's node jobs. */
  generation?: number;
  generations?: GenerationRecord[];
  /** The next generation's node jobs while they queue and start. */
  next_job_ids?: string[];
  /** The previous generation's node jobs while they drain, until they are cancelled. */
  retiring_job_ids?: string[];
  rollover?: { state: RolloverState; message: string | null };
  /** The first generation's timeline, kept once `job_ids` moved on to a successor's node jobs. */
  first_timeline?: Timeline;
}

export interface SchedulerObservation {
  /** The job observed; when set, the write is skipped if the record has moved on to another job. */
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
  /** Timeline fields to set (the poll sends only those still unknown). */
  submittedAt?: string;
  startedAt?: string;
  endedAt?: string;
  /**
   * The start of the record's current job, for its `generations` entry when that has none yet (a
   * job that took over before it started: a wake, a vector database's restart).
   */
  generationStartedAt?: string;
}
