import { isTerminalJobState, type JobState } from '@aiplane/contracts';
import type { JobInfo, Scheduler, SchedulerKind, SubmitRequest } from '@aiplane/scheduler';

export type SchedulerCall =
  | { method: 'submit'; request: SubmitRequest }
  | { method: 'cancel'; jobId: string }
  | { method: 'query'; jobIds: string[] }
  | { method: 'findByName'; jobName: string }
  | { method: 'listByNamePrefix'; prefix: string }
  | { method: 'finishedJob'; jobId: string; workDir: string }
  | { method: 'estimateStart'; jobDir: string }
  | { method: 'ping' };

type Method = SchedulerCall['method'];

export interface RecordingSchedulerOptions {
  kind?: SchedulerKind;
  /** Jobs the scheduler already knows, as if submitted before the test began. */
  jobs?: readonly JobInfo[];
  /** Id of the first job `submit` starts; each later one counts up. */
  firstJobId?: number;
  /** The state a submitted job starts in. */
  submittedState?: JobState;
  /**
   * The completion log `finishedJob` reads, by job id. Leave it out for a scheduler without one
   * (the method is then absent, as on schedulers that never forget jobs).
   */
  completionLog?: Readonly<Record<string, JobInfo>>;
  /** What `estimateStart` answers for a job directory (ISO 8601); no estimate when left out. */
  startEstimate?: (jobDir: string) => string | undefined;
}

/**
 * An in-memory scheduler for unit tests: it records every call, keeps the jobs it started, and
 * lets a test script states (`setState`) and failures (`failNext`), so a spec states the scheduler
 * it needs in a line instead of hand-rolling a partial one.
 */
export class RecordingScheduler implements Scheduler {
  readonly kind: SchedulerKind;
  readonly calls: SchedulerCall[] = [];
  /** Every request `submit` was given, in order (live: a test may hold on to it). */
  readonly submitted: SubmitRequest[] = [];
  /** Every job id `cancel` was given, in order (live). */
  readonly cancelled: string[] = [];
  readonly finishedJob?: (jobId: string, workDir: string) => Promise<JobInfo | undefined>;

  private readonly jobs = new Map<string, JobInfo>();
  private readonly failures = new Map<Method, Error[]>();
  private nextJobId: number;
  private readonly submittedState: JobState;
  private readonly startEstimate: (jobDir: string) => string | undefined;

  constructor(options: RecordingSchedulerOptions = {}) {
    this.kind = options.kind ?? 'local';
    this.nextJobId = options.firstJobId ?? 1001;
    this.submittedState = options.submittedState ?? 'PENDING';
    this.startEstimate = options.startEstimate ?? (() => undefined);
    for (const job of options.jobs ?? []) this.jobs.set(job.jobId, { ...job });
    const log = options.completionLog;
    if (log) {
      this.finishedJob = (jobId, workDir) =>
        this.answer({ method: 'finishedJob', jobId, workDir }, () => log[jobId]);
    }
  }

  /** The job as the scheduler now reports it. */
  job(jobId: string): JobInfo | undefined {
    const job = this.jobs.get(jobId);
    return job && { ...job };
  }

  /** Moves a job to a state (and whatever else changes with it: nodes, exit code, reason). */
  setState(jobId: string, state: JobState, changes: Partial<Omit<JobInfo, 'jobId' | 'state'>> = {}): void {
    const job = this.jobs.get(jobId);
    if (!job) throw new Error(`RecordingScheduler: no job ${jobId}`);
    this.jobs.set(jobId, { ...job, ...changes, state });
  }

  /** Makes the job disappear, as a scheduler that purged it would. */
  forget(jobId: string): void {
    this.jobs.delete(jobId);
  }

  /** The next call of `method` rejects with `error` (queued: call it twice for two failures). */
  failNext(method: Method, error: Error): void {
    this.failures.set(method, [...(this.failures.get(method) ?? []), error]);
  }

  submit(request: SubmitRequest): Promise<string> {
    return this.answer({ method: 'submit', request }, () => {
      const jobId = String(this.nextJobId++);
      this.jobs.set(jobId, {
        jobId,
        name: request.jobName,
        state: this.submittedState,
        nodes: [],
        workDir: request.jobDir,
      });
      return jobId;
    });
  }

  cancel(jobId: string): Promise<void> {
    return this.answer({ method: 'cancel', jobId }, () => {
      const job = this.jobs.get(jobId);
      if (job && !isTerminalJobState(job.state)) this.jobs.set(jobId, { ...job, state: 'CANCELLED' });
    });
  }

  query(jobIds: readonly string[]): Promise<Map<string, JobInfo>> {
    return this.answer({ method: 'query', jobIds: [...jobIds] }, () => {
      const found = new Map<string, JobInfo>();
      for (const jobId of jobIds) {
        const job = this.job(jobId);
        if (job) found.set(jobId, job);
      }
      return found;
    });
  }

  findByName(jobName: string): Promise<JobInfo | undefined> {
    return this.answer({ method: 'findByName', jobName }, () =>
      [...this.jobs.values()].filter((job) => job.name === jobName).at(-1),
    );
  }

  listByNamePrefix(prefix: string): Promise<JobInfo[]> {
    return this.answer({ method: 'listByNamePrefix', prefix }, () =>
      [...this.jobs.values()].filter((job) => job.name.startsWith(prefix)).map((job) => ({ ...job })),
    );
  }

  estimateStart(jobDir: string): Promise<string | undefined> {
    return this.answer({ method: 'estimateStart', jobDir }, () => this.startEstimate(jobDir));
  }

  ping(): Promise<void> {
    return this.answer({ method: 'ping' }, () => undefined);
  }

  private answer<T>(call: SchedulerCall, result: () => T): Promise<T> {
    this.calls.push(call);
    if (call.method === 'submit') this.submitted.push(call.request);
    if (call.method === 'cancel') this.cancelled.push(call.jobId);
    const failure = this.failures.get(call.method)?.shift();
    if (failure !== undefined) return Promise.reject(failure);
    try {
      return Promise.resolve(result());
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }
}
