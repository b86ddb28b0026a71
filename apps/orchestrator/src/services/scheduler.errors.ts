import { JobFailedError, JobWaitTimeoutError } from '@aiplane/jobs';
import { UnavailableError, UpstreamError } from '@aiplane/server-kit';

/**
 * What the client is told when a scheduler job did not succeed: an unreachable scheduler (no worker
 * took the job, or the worker reported the scheduler `unavailable`) is a 503 worth retrying; a
 * refusal is a 502. Any other error passes through unchanged.
 */
export function clientErrorFor(error: unknown, ifUnanswered: string): unknown {
  if (error instanceof JobWaitTimeoutError) {
    return new UnavailableError(
      `The scheduler is not reachable right now (${error.message}); nothing was submitted`,
    );
  }
  if (error instanceof JobFailedError && error.kind === 'unavailable') {
    return new UnavailableError(`The scheduler did not answer (${error.message}); ${ifUnanswered}`);
  }
  if (error instanceof JobFailedError) {
    return new UpstreamError(`The scheduler refused the request: ${error.message}`);
  }
  return error;
}
