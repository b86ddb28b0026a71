import type { CommandRunOptions, CommandRunner } from '@aiplane/scheduler';
import { LocalScheduler, SlurmScheduler } from '@aiplane/scheduler';
import { loadSlurmWorkerConfig } from '../slurm-worker.config';
import { schedulerFromConfig } from './scheduler.provider';

function recordingRunner() {
  const calls: { command: string; options: CommandRunOptions | undefined }[] = [];
  const runner: CommandRunner = {
    run: (command, _args, options) => {
      calls.push({ command, options });
      return Promise.resolve({ stdout: 'Slurmctld(primary) at ctl is UP\n', stderr: '', exitCode: 0 });
    },
  };
  return { runner, calls };
}

describe('schedulerFromConfig', () => {
  it('gives every SLURM command the timeout set in SLURM_COMMAND_TIMEOUT_MS', async () => {
    const { runner, calls } = recordingRunner();
    const config = loadSlurmWorkerConfig({ SCHEDULER: 'slurm', SLURM_COMMAND_TIMEOUT_MS: '1234' });

    const scheduler = schedulerFromConfig(config, runner);
    await scheduler.ping();

    expect(scheduler).toBeInstanceOf(SlurmScheduler);
    expect(calls).toEqual([{ command: 'scontrol', options: expect.objectContaining({ timeoutMs: 1234 }) }]);
  });

  it('defaults the timeout to 30 s and refuses one that is not a duration', () => {
    expect(loadSlurmWorkerConfig({}).SLURM_COMMAND_TIMEOUT_MS).toBe(30_000);
    expect(() => loadSlurmWorkerConfig({ SLURM_COMMAND_TIMEOUT_MS: '0' })).toThrow(
      /SLURM_COMMAND_TIMEOUT_MS/,
    );
  });

  it('builds the local executor on the state directory', () => {
    const scheduler = schedulerFromConfig(loadSlurmWorkerConfig({ STATE_DIR: '/tmp/aiplane-x' }));
    expect(scheduler).toBeInstanceOf(LocalScheduler);
  });
});
