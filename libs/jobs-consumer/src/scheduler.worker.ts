import { Queue, Worker, type ConnectionOptions, type Job, type JobType } from 'bullmq';
import {
  SCHEDULER_JOB_POLICIES,
  SCHEDULER_QUEUE,
  schedulerJobIds,
  type SchedulerJobName,
  type RetryPolicy,
  type SchedulerJobs,
} from '@aiplane/contracts';
import type { SchedulerJob } from '@aiplane/jobs';

/** How long a worker's hold on a job lasts without renewal (renewed every half of it). */
export const WORKER_LOCK_MS = 10_000;

const PENDING_STATES = new Set<string>(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

export type SchedulerHandlers = {
  [N in SchedulerJobName]: (job: SchedulerJob<N>) => Promise<SchedulerJobs[N]['result']>;
};

/** The slurm-worker's side: one BullMQ worker, and the repeatable poll that keeps records current. */
export class SchedulerQueueWorker {
  private readonly worker: Worker;
  private readonly queue: Queue;

  constructor(
    connection: ConnectionOptions,
    handlers: SchedulerHandlers,
    private readonly options: { concurrency: number; pollEveryMs: number; prefix: string },
  ) {
    this.queue = new Queue(SCHEDULER_QUEUE, { connection, prefix: options.prefix });
    this.worker = new Worker(
      SCHEDULER_QUEUE,
      async (job: Job) => {
        switch (job.name as SchedulerJobName) {
          case 'submit':
            return handlers.submit(job as SchedulerJob<'submit'>);
          case 'cancel':
            return handlers.cancel(job as SchedulerJob<'cancel'>);
          case 'poll':
            return handlers.poll(job as SchedulerJob<'poll'>);
          case 'rollover':
            return handlers.rollover(job as SchedulerJob<'rollover'>);
          case 'retire':
            return handlers.retire(job as SchedulerJob<'retire'>);
          case 'idle-stop':
            return handlers['idle-stop'](job as SchedulerJob<'idle-stop'>);
          case 'wake':
            return handlers.wake(job as SchedulerJob<'wake'>);
          default:
            throw new Error(`unknown job name ${job.name}`);
        }
      },
      {
        connection,
        concurrency: options.concurrency,
        prefix: options.prefix,
        // A worker killed mid-job holds its lock until the lock expires; only then does another
        // worker take the job over. BullMQ's 30 s would outlast the orchestrator's wait, so a
        // client whose create met a worker crash would get an error for a job that does run.
        // Every handler is idempotent, so a job taken over early by mistake costs nothing.
        lockDuration: WORKER_LOCK_MS,
        stalledInterval: WORKER_LOCK_MS / 2,
        // Nothing is taken from the queue before start(): the worker reconciles with the scheduler first.
        autorun: false,
      },
    );
  }

  get bullWorker(): Worker {
    return this.worker;
  }

  /** Jobs in the queue by state, for the worker's metrics. */
  jobCounts(states: readonly string[]): Promise<Record<string, number>> {
    return this.queue.getJobCounts(...(states as JobType[]));
  }

  /**
   * Whether the submit job of this submission is still to run or running (it will finish it).
   * Usable before start().
   */
  async submitPending(submissionId: string): Promise<boolean> {
    const state = await this.queue.getJobState(schedulerJobIds.submit(submissionId));
    return PENDING_STATES.has(state);
  }

  /**
   * Enqueues follow-up work the worker decides on itself (rollover, retire, idle stop, wake) under its
   * deterministic id: a second enqueue of the same one, by this poll, another worker's or a racing
   * request, is a no-op. `delayMs` holds it back (a drain). Returns false when a job with that id was
   * already there (and, where its policy says so, had not failed).
   */
  async enqueue<N extends 'rollover' | 'retire' | 'idle-stop' | 'wake'>(
    name: N,
    jobId: string,
    payload: SchedulerJobs[N]['payload'],
    delayMs = 0,
  ): Promise<boolean> {
    const policy: RetryPolicy = SCHEDULER_JOB_POLICIES[name];
    const existing = await this.queue.getJob(jobId);
    if (existing) {
      if (policy.askAgainAfterFailure !== true || !(await existing.isFailed())) return false;
      await existing.remove().catch(() => undefined);
    }
    await this.queue.add(name, payload, {
      jobId,
      attempts: policy.attempts,
      ...(policy.backoff ? { backoff: policy.backoff } : {}),
      ...(delayMs > 0 ? { delay: delayMs } : {}),
      // Kept a day so the same rollover is never enqueued twice while its record still points at it.
      removeOnComplete: { age: 24 * 3600 },
      removeOnFail: { age: 24 * 3600 },
    });
    return true;
  }

  /**
   * A job scheduler with a fixed id: however many workers call this, BullMQ keeps one schedule,
   * so the scheduler is polled once per interval in total.
   */
  async start(): Promise<void> {
    await this.queue.upsertJobScheduler(
      schedulerJobIds.poll(),
      { every: this.options.pollEveryMs },
      {
        name: 'poll',
        data: {},
        opts: { attempts: SCHEDULER_JOB_POLICIES.poll.attempts, removeOnComplete: true, removeOnFail: 100 },
      },
    );
    // run() settles only when the worker closes; its failures reach the worker's 'error' listeners.
    void this.worker.run().catch(() => undefined);
    await this.worker.waitUntilReady();
  }

  async close(): Promise<void> {
    await this.worker.close();
    await this.queue.close();
  }
}
