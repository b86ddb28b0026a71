import { encodeJobFailure } from '@aiplane/contracts';
import { JobFailedError, JobWaitTimeoutError } from '@aiplane/jobs';
import { UnavailableError, UpstreamError } from '@aiplane/server-kit';
import { clientErrorFor } from './scheduler.errors';

// JobFailedError is built from the failedReason BullMQ carried back from the worker.
describe('clientErrorFor', () => {
  it('answers 503 when the worker reported the scheduler unavailable', () => {
    const failed = new JobFailedError(
      encodeJobFailure({ kind: 'unavailable', message: 'slurmctld does not answer' }),
    );
    const error = clientErrorFor(failed, 'try again shortly');
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error).toMatchObject({
      message: 'The scheduler did not answer (slurmctld does not answer); try again shortly',
    });
    expect((error as UnavailableError).status).toBe(503);
  });

  it('answers 503 when no worker took the job', () => {
    const error = clientErrorFor(new JobWaitTimeoutError('no slurm-worker took the submit job'), 'x');
    expect((error as UnavailableError).status).toBe(503);
  });

  it('answers 502 for a refusal and for a failure that carries no kind', () => {
    for (const reason of [
      encodeJobFailure({ kind: 'rejected', message: 'invalid partition specified: gpu' }),
      'submission abc does not exist (expired?)',
    ]) {
      const error = clientErrorFor(new JobFailedError(reason), 'x');
      expect(error).toBeInstanceOf(UpstreamError);
      expect((error as UpstreamError).status).toBe(502);
    }
  });

  it('passes any other error through', () => {
    const bug = new TypeError('boom');
    expect(clientErrorFor(bug, 'x')).toBe(bug);
  });
});
