import type { JobState } from '@aiplane/contracts';

export interface SubmitRequest {
  /** Complete rendered batch script, `#SBATCH` lines included (job name, --output, --error, resources). */
  script: string;
  /** Also set in the script; `findByName` looks jobs up by it. */
  jobName: string;
  /** Absolute directory the caller already created; the script is written to `${jobDir}/job.sh`. */
  jobDir: string;
  /** `${jobDir}/stdout.log`, also the script's `#SBATCH --output`. */
  stdoutPath: string;
  stderrPath: string;
  /**
   * The complete environment of the job (the caller includes PATH and HOME). It is not merged with
   * this process's environment, so nothing of the control plane's own environment leaks into jobs.
   */
  env: Record<string, string>;
}

export interface JobInfo {
  jobId: string;
  name: string;
  state: JobState;
  nodes: string[];
  reason?: string;
  exitCode?: number;
  /** The job's working directory; set by {@link Scheduler.listByNamePrefix}. */
  workDir?: string;
  /**
   * The partition(s) the job was submitted to (a pending job may name several, comma-separated);
   * absent where the scheduler has none (the local executor).
   */
  partition?: string;
  /** The scheduler's priority: a larger number starts first. */
  priority?: number;
  /**
   * While pending: 1 for the next job to start among the pending jobs of its partition, all users'
   * jobs the scheduler shows, by priority (ties: the earlier submission first). Absent when the
   * scheduler has no queue or did not list the job.
   */
  queuePosition?: number;
  /** While pending: when the scheduler expects to start it (ISO 8601, with offset); absent when it has no estimate. */
  estimatedStart?: string;
  /** ISO 8601, with offset. */
  submittedAt?: string;
  /** When the job started on its node(s) (ISO 8601, with offset); absent until it did. */
  startedAt?: string;
  /** The job's time limit; absent when it has none (UNLIMITED) or the scheduler enforces none. */
  timeLimitSeconds?: number;
}

export type SchedulerKind = 'slurm' | 'local';

export interface Scheduler {
  readonly kind: SchedulerKind;
  /** Returns the scheduler's job id. */
  submit(req: SubmitRequest): Promise<string>;
  /** Idempotent: a job that already finished or is no longer known resolves; a refusal throws. */
  cancel(jobId: string): Promise<void>;
  /** One scheduler round trip for all ids; ids the scheduler no longer knows are absent from the map. */
  query(jobIds: readonly string[]): Promise<Map<string, JobInfo>>;
  /** Newest job carrying exactly this name, in any state, so a retried submit never submits twice. */
  findByName(jobName: string): Promise<JobInfo | undefined>;
  /**
   * Every job of this user whose name starts with `prefix`, in any state the scheduler still
   * reports, with its working directory: how a restarted worker finds the jobs it owns.
   */
  listByNamePrefix(prefix: string): Promise<JobInfo[]>;
  /**
   * How a job ended that `query` no longer reports (the scheduler purged it), from the scheduler's
   * completion log where one is readable; `workDir` tells it apart from a later job given the same
   * id. Undefined when there is no such evidence. Schedulers that never forget jobs omit it.
   */
  finishedJob?(jobId: string, workDir: string): Promise<JobInfo | undefined>;
  /**
   * When a job asking what the batch script in `jobDir` (`job.sh`) asks would start if submitted
   * now, as ISO 8601, without submitting it (SLURM: `sbatch --test-only`). Undefined when the
   * scheduler gives no estimate (a scheduler without a queue never does).
   */
  estimateStart(jobDir: string): Promise<string | undefined>;
  /** Throws `SchedulerError` UNAVAILABLE when the scheduler does not answer. */
  ping(): Promise<void>;
}
