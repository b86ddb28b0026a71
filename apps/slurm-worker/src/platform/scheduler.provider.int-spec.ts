import { isSchedulerError } from '@aiplane/scheduler';
import { loadSlurmWorkerConfig } from '../slurm-worker.config';
import { schedulerFromConfig } from './scheduler.provider';

// Real SLURM clients (tools/infra/up.sh): the configured timeout reaches the process that runs them.
describe('schedulerFromConfig on the real SLURM clients', () => {
  it('answers a ping within the default timeout', async () => {
    await expect(
      schedulerFromConfig(loadSlurmWorkerConfig({ SCHEDULER: 'slurm' })).ping(),
    ).resolves.toBeUndefined();
  });

  it('gives up on a command after SLURM_COMMAND_TIMEOUT_MS, as an unavailable scheduler', async () => {
    const config = loadSlurmWorkerConfig({ SCHEDULER: 'slurm', SLURM_COMMAND_TIMEOUT_MS: '1' });
    const error: unknown = await schedulerFromConfig(config)
      .ping()
      .catch((e: unknown) => e);
    expect(isSchedulerError(error, 'UNAVAILABLE')).toBe(true);
    expect(error).toMatchObject({ message: expect.stringContaining('within 1 ms') });
  });
});
