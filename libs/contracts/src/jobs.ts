import { z } from 'zod';

/**
 * The job catalogue: every queue, job name, payload and retry policy that crosses process
 * boundaries. Producers (orchestrator) and consumers (slurm-worker) import it from here so the two
 * sides cannot drift. Payloads carry ids only; documents live in the registry.
 */
export const SCHEDULER_QUEUE = 'scheduler' as const;

export interface SubmitJobPayload {
  /** Id of the submission document the orchestrator stored; the worker reads config from it. */
  submissionId: string;
  requestId: string;
}

export interface CancelJobPayload {
  serviceId: string;
  requestId: string;
}

/**
 * Walltime rollover of a service or group (its id, the first job's): `rollover` submits the
 * successor of generation `generation`; `retire` cancels the jobs of generation `generation` once
 * its successor serves and it had time to finish its in-flight requests. The worker enqueues both
 * itself, from its poll.
 */
export interface RolloverJobPayload {
  serviceId: string;
  generation: number;
}

/** Stops a service nobody used for its idle timeout; `jobId` is the job found idle, so a stale enqueue stops nothing newer. */
export interface IdleStopJobPayload {
  serviceId: string;
  jobId: string;
}

/** Starts an idle service again (a new job, same service id); `jobId` is the job the idle stop ended. */
export interface WakeJobPayload {
  serviceId: string;
  jobId: string;
}

/** Scheduler state sync; one run per interval however many workers consume the queue. */
export type PollJobPayload = Record<string, never>;

export interface SchedulerJobs {
  submit: { payload: SubmitJobPayload; result: { serviceId: string } };
  cancel: { payload: CancelJobPayload; result: { serviceId: string; alreadyFinal: boolean } };
  poll: { payload: PollJobPayload; result: { tracked: number; changed: number } };
  rollover: { payload: RolloverJobPayload; result: { jobIds: string[] } };
  retire: { payload: RolloverJobPayload; result: { cancelled: string[] } };
  'idle-stop': { payload: IdleStopJobPayload; result: { serviceId: string; stopped: boolean } };
  wake: { payload: WakeJobPayload; result: { serviceId: string; jobId: string | null } };
}
export type SchedulerJobName = keyof SchedulerJobs;

/** Retry policy in the shape BullMQ's JobsOptions accepts, kept framework-free here. */
export interface RetryPolicy {
  attempts: number;
  backoff?: { type: 'fixed' | 'exponential'; delay: number };
  /**
   * For the jobs the worker enqueues itself under a deterministic id: whether asking again after every
   * attempt failed runs it again (true), or the failure stands as the answer for that id.
   */
  askAgainAfterFailure?: boolean;
}

export const SCHEDULER_JOB_POLICIES: Readonly<Record<SchedulerJobName, RetryPolicy>> = {
  // sbatch can fail transiently (slurmctld restarting); the worker checks for an existing job
  // carrying the submission's tag before each attempt, so a retry never submits twice.
  submit: { attempts: 4, backoff: { type: 'exponential', delay: 500 } },
  // scancel of a job that is already gone is a success; other failures are worth a few retries.
  cancel: { attempts: 3, backoff: { type: 'exponential', delay: 500 } },
  // The next interval is the retry.
  poll: { attempts: 1 },
  // Like submit: each attempt looks for the successor's job name first, so a retry never submits twice.
  rollover: { attempts: 4, backoff: { type: 'exponential', delay: 1_000 } },
  // scancel of a job that is gone is a success; a retire that keeps failing leaves the job to its limit.
  retire: { attempts: 5, backoff: { type: 'exponential', delay: 1_000 } },
  // The record is marked idle before scancel, so a retry only repeats the scancel, which is idempotent.
  // A failed one (the scheduler away through every attempt) is asked for again by the next poll or request.
  'idle-stop': { attempts: 3, backoff: { type: 'exponential', delay: 500 }, askAgainAfterFailure: true },
  // Like submit: the new job's name carries the generation, and an attempt adopts a job of that name.
  wake: { attempts: 4, backoff: { type: 'exponential', delay: 500 }, askAgainAfterFailure: true },
};

/**
 * Why a scheduler job failed, as the producer needs to tell its client.
 * `unavailable`: the scheduler did not answer (a 503 to the client, worth retrying later);
 * `rejected`: it refused the request (a 502: retrying the same request will not help).
 */
export const JOB_FAILURE_KINDS = ['unavailable', 'rejected'] as const;
export type JobFailureKind = (typeof JOB_FAILURE_KINDS)[number];

export const jobFailureSchema = z.object({ kind: z.enum(JOB_FAILURE_KINDS), message: z.string() });
export type JobFailure = z.infer<typeof jobFailureSchema>;

/**
 * BullMQ carries only a failure's message across the queue (the job's failedReason), so the
 * worker sends the failure as JSON there and the producer decodes it with the schema.
 */
export function encodeJobFailure(failure: JobFailure): string {
  return JSON.stringify(failure);
}

/**
 * Anything that is not an encoded failure (a worker bug, an expired submission, BullMQ's own
 * errors) counts as `rejected`, its text kept whole as the message.
 */
export function decodeJobFailure(reason: string): JobFailure {
  let value: unknown;
  try {
    value = JSON.parse(reason);
  } catch {
    return { kind: 'rejected', message: reason };
  }
  const failure = jobFailureSchema.safeParse(value);
  return failure.success ? failure.data : { kind: 'rejected', message: reason };
}

/**
 * Deterministic job ids: BullMQ refuses a second job with the same id, so a duplicated enqueue
 * of the same submission or cancel is a no-op.
 */
export const schedulerJobIds = {
  submit: (submissionId: string): string => `submit-${submissionId}`,
  cancel: (serviceId: string): string => `cancel-${serviceId}`,
  poll: (): string => 'poll',
  rollover: (serviceId: string, generation: number): string => `rollover-${serviceId}-g${generation}`,
  retire: (serviceId: string, generation: number): string => `retire-${serviceId}-g${generation}`,
  // Per stopped job: every request that finds the service idle enqueues the same id, so one job
  // runs however many requests race; the next idle period has another job, so another id.
  idleStop: (serviceId: string, jobId: string): string => `idle-stop-${serviceId}-${jobId}`,
  wake: (serviceId: string, jobId: string): string => `wake-${serviceId}-${jobId}`,
} as const;

/** Scheduler job name prefix: lets the worker find jobs it owns (idempotency, reconciliation). */
export const JOB_NAME_PREFIX = 'aiplane-';

/** What a scheduler job name says: whose submission, which generation, which node of a group. */
export interface SchedulerJobNameParts {
  submissionId: string;
  /** 1 for the first job; a walltime rollover successor carries the next one, so it is no duplicate. */
  generation: number;
  /** Set for the node jobs of a replica group. */
  nodeIndex?: number;
}

// Names without `-g<k>` come from workers older than generations; they are generation 1.
const JOB_NAME = new RegExp(`^${JOB_NAME_PREFIX}([A-Za-z0-9]+)(?:-g([1-9][0-9]{0,5}))?(?:-n([0-9]{1,5}))?$`);

/** `aiplane-<submission>-g<generation>`, plus `-n<node>` for a group's node job. */
export function schedulerJobName(submissionId: string, generation = 1, nodeIndex?: number): string {
  const node = nodeIndex === undefined ? '' : `-n${nodeIndex}`;
  return `${JOB_NAME_PREFIX}${submissionId}-g${generation}${node}`;
}

export function parseSchedulerJobName(name: string): SchedulerJobNameParts | undefined {
  const match = JOB_NAME.exec(name);
  const submissionId = match?.[1];
  if (match === null || submissionId === undefined) return undefined;
  const node = match[3];
  return {
    submissionId,
    generation: match[2] === undefined ? 1 : Number(match[2]),
    ...(node === undefined ? {} : { nodeIndex: Number(node) }),
  };
}
