import { encodeJobFailure } from '@aiplane/contracts';
import { UnrecoverableError } from 'bullmq';
import { isSchedulerError, SchedulerError } from '@aiplane/scheduler';

/**
 * Runs a handler and marks an unreachable scheduler as such in the failure BullMQ carries back, so
 * the orchestrator answers its client 503 (come back later) rather than 502 (refused), whatever
 * step met the outage (the sbatch, or the look-up for a job an earlier attempt submitted).
 */
export async function tagFailures<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (isSchedulerError(error, 'UNAVAILABLE')) {
      throw new Error(encodeJobFailure({ kind: 'unavailable', message: error.message }), { cause: error });
    }
    throw error;
  }
}

/**
 * Runs one scheduler call of a queue job: a refusal will be refused again, so it ends the job
 * (UnrecoverableError, no BullMQ retry); only an unreachable scheduler is worth retrying.
 */
export async function refusalsAreFinal<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof SchedulerError && error.code !== 'UNAVAILABLE')
      throw new UnrecoverableError(error.message);
    throw error;
  }
}
