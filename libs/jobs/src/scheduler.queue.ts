import { Queue, QueueEvents, type ConnectionOptions, type Job, type JobsOptions } from 'bullmq';
import {
  SCHEDULER_JOB_POLICIES,
  decodeJobFailure,
  SCHEDULER_QUEUE,
  schedulerJobIds,
  type JobFailureKind,
  type SchedulerJobName,
  type SchedulerJobs,
} from '@aiplane/contracts';

export type SchedulerJob<N extends SchedulerJobName> = Job<
  SchedulerJobs[N]['payload'],
  SchedulerJobs[N]['result'],
  N
>;

export class JobWaitTimeoutError extends Error {
  readonly code = 'JOB_WAIT_TIMEOUT';
}

export class JobFailedError extends Error {
  readonly code = 'JOB_FAILED';
  /** Whether the scheduler was unreachable or refused, as the worker encoded it in the failure. */
  readonly kind: JobFailureKind;

  constructor(reason: string) {
    const { kind, message } = decodeJobFailure(reason);
    super(message);
    this.kind = kind;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// BullMQ's own wait timeout, matched on its exact wording: handler errors say "timed out" too
// (sbatch: "Socket timed out on send/recv operation") and must still count as failures.
function isWaitTimeout(error: unknown): boolean {
  return /^Job wait \S+ timed out before finishing/.test(messageOf(error));
}

function optionsFor(name: SchedulerJobName, jobId: string): JobsOptions {
  const policy = SCHEDULER_JOB_POLICIES[name];
  return {
    jobId,
    attempts: policy.attempts,
    ...(policy.backoff ? { backoff: policy.backoff } : {}),
    // Completed jobs are kept a while so a duplicate enqueue within that window is still a no-op.
    removeOnComplete: { age: 3600, count: 10_000 },
    removeOnFail: { age: 24 * 3600 },
  };
}

/** How long a close waits for BullMQ to close its connections before it drops them. */
const CLOSE_WAIT_MS = 2_000;

/**
 * The orchestrator's side of the scheduler queue. It enqueues and waits for the answer: sbatch
 * returns in milliseconds, and the client wants the job id as the service id.
 */
export class SchedulerQueueClient {
  private readonly queue: Queue;
  private readonly events: QueueEvents;

  /** `prefix` namespaces the queue's keys, so stacks sharing one Redis never take each other's jobs. */
  constructor(connection: ConnectionOptions, prefix: string) {
    this.queue = new Queue(SCHEDULER_QUEUE, { connection, prefix });
    this.events = new QueueEvents(SCHEDULER_QUEUE, { connection, prefix });
    // An 'error' event without a listener throws and ends the process: a Redis restart or failover
    // (its blocking reads are cut with UNBLOCKED) must cost the requests in flight, which fail
    // with their own errors as 503s, not the orchestrator. Both reconnect by themselves.
    this.queue.on('error', () => undefined);
    this.events.on('error', () => undefined);
  }

  async ready(): Promise<void> {
    await Promise.all([this.queue.waitUntilReady(), this.events.waitUntilReady()]);
  }

  /**
   * How many slurm-workers consume the queue now: BullMQ names each worker's Redis connection, so
   * this is Redis's own client list, with no heartbeat to go stale. A create waits for one of them.
   */
  async workerCount(): Promise<number> {
    return this.queue.getWorkersCount();
  }

  async submit(
    payload: SchedulerJobs['submit']['payload'],
    waitMs: number,
  ): Promise<SchedulerJobs['submit']['result']> {
    return this.run('submit', schedulerJobIds.submit(payload.submissionId), payload, waitMs);
  }

  async cancel(
    payload: SchedulerJobs['cancel']['payload'],
    waitMs: number,
  ): Promise<SchedulerJobs['cancel']['result']> {
    return this.run('cancel', schedulerJobIds.cancel(payload.serviceId), payload, waitMs);
  }

  /**
   * Enqueues and waits. If no worker picks the job up in time it is withdrawn, so a client that
   * got an error never finds the job submitted behind its back later.
   */
  private async run<N extends 'submit' | 'cancel'>(
    name: N,
    jobId: string,
    payload: SchedulerJobs[N]['payload'],
    waitMs: number,
  ): Promise<SchedulerJobs[N]['result']> {
    const existing = (await this.queue.getJob(jobId)) as SchedulerJob<N> | undefined;
    // A finished job with this id is an earlier identical request: answer it, or run again if it failed.
    if (existing && (await existing.isFailed())) await existing.remove();
    const job = (await this.queue.add(name, payload, optionsFor(name, jobId))) as SchedulerJob<N>;
    try {
      return await job.waitUntilFinished(this.events, waitMs);
    } catch (error) {
      if (!isWaitTimeout(error)) throw new JobFailedError(messageOf(error));
      const state = await job.getState();
      if (state === 'waiting' || state === 'delayed' || state === 'prioritized') {
        // remove() refuses a job a worker locked since getState(): that one runs, so it is waited for below.
        const withdrawn = await job.remove().then(
          () => true,
          () => false,
        );
        if (withdrawn)
          throw new JobWaitTimeoutError(`no slurm-worker took the ${name} job within ${waitMs} ms`);
      }
    }
    // Already being processed: the outcome is near, wait for it rather than report a false failure.
    try {
      return await job.waitUntilFinished(this.events, waitMs * 2);
    } catch (error) {
      if (isWaitTimeout(error)) throw error;
      throw new JobFailedError(messageOf(error));
    }
  }

  /**
   * Closes both connections. BullMQ's QueueEvents never finishes closing once one of its blocking
   * reads was cut (UNBLOCKED: a Redis failover, a switch to replica), which would hang the
   * orchestrator's shutdown for good: after CLOSE_WAIT_MS the connections are dropped instead, and
   * the shutdown goes on.
   */
  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const closing = Promise.all([this.queue.close(), this.events.close()]);
    // Failing after the wait, it has nobody left to tell.
    closing.catch(() => undefined);
    const closed = closing.then(() => true);
    const waited = new Promise<false>((resolve) => {
      timer = setTimeout(() => {
        resolve(false);
      }, CLOSE_WAIT_MS);
    });
    const done = await Promise.race([closed, waited]);
    clearTimeout(timer);
    // Not awaited: BullMQ's disconnect first waits for a connection that may never be made again.
    if (!done) void Promise.allSettled([this.queue.disconnect(), this.events.disconnect()]);
  }
}
