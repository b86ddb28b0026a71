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

/** Scheduler state sync; one run per interval however many workers consume the queue. */
export type PollJobPayload = Record<string, never>;

export interface SchedulerJobs {
  submit: { payload: SubmitJobPayload; result: { serviceId: string } };
  cancel: { payload: CancelJobPayload; result: { serviceId: string; alreadyFinal: boolean } };
  poll: { payload: PollJobPayload; result: { tracked: number; changed: number } };
}
export type SchedulerJobName = keyof SchedulerJobs;

/** Retry policy in the shape BullMQ's JobsOptions accepts, kept framework-free here. */
export interface RetryPolicy {
  attempts: number;
  backoff?: { type: 'fixed' | 'exponential'; delay: number };
}

export const SCHEDULER_JOB_POLICIES: Readonly<Record<SchedulerJobName, RetryPolicy>> = {
  // sbatch can fail transiently (slurmctld restarting); the worker checks for an existing job
  // carrying the submission's tag before each attempt, so a retry never submits twice.
  submit: { attempts: 4, backoff: { type: 'exponential', delay: 500 } },
  // scancel of a job that is already gone is a success; other failures are worth a few retries.
  cancel: { attempts: 3, backoff: { type: 'exponential', delay: 500 } },
  // The next interval is the retry.
  poll: { attempts: 1 },
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
} as const;

/** Scheduler job name prefix: lets the worker find jobs it owns (idempotency, reconciliation). */
export const JOB_NAME_PREFIX = 'aiplane-';
export function schedulerJobName(submissionId: string): string {
  return `${JOB_NAME_PREFIX}${submissionId}`;
}
