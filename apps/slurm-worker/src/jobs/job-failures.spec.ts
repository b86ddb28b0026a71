import { UnrecoverableError } from 'bullmq';
import { decodeJobFailure } from '@aiplane/contracts';
import { SchedulerError } from '@aiplane/scheduler';
import { tagFailures } from './job-failures';

describe('tagFailures', () => {
  it('marks an unreachable scheduler as data, wherever in the handler it was met', async () => {
    const error: unknown = await tagFailures(() =>
      Promise.reject(new SchedulerError('UNAVAILABLE', 'slurmctld does not answer')),
    ).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Error);
    expect(decodeJobFailure((error as Error).message)).toEqual({
      kind: 'unavailable',
      message: 'slurmctld does not answer',
    });
  });

  it('passes every other failure through untouched, an UnrecoverableError staying one', async () => {
    const refused = new UnrecoverableError('sbatch: error: invalid partition specified: gpu');
    await expect(tagFailures(() => Promise.reject(refused))).rejects.toBe(refused);
    const parse = new SchedulerError('PARSE', 'unexpected squeue line');
    await expect(tagFailures(() => Promise.reject(parse))).rejects.toBe(parse);
    await expect(tagFailures(() => Promise.resolve(42))).resolves.toBe(42);
  });
});
