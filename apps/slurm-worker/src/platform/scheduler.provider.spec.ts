import type { CommandRunOptions, CommandRunner } from '@aiplane/scheduler';
import { LocalScheduler, SlurmScheduler } from '@aiplane/scheduler';
import { loadSlurmWorkerConfig } from '../slurm-worker.config';
import { schedulerFromConfig, TimedCommandRunner } from './scheduler.provider';

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

describe('TimedCommandRunner', () => {
  it('times each command by its name, a nonzero exit or a failure to run counted as a failure', async () => {
    const observed: [string, number, boolean][] = [];
    const metrics = {
      observe: (command: string, seconds: number, failed: boolean) =>
        observed.push([command, seconds, failed]),
    };
    const succeeds = () => Promise.resolve({ stdout: '', stderr: '', exitCode: 0 });
    const outcomes: Record<string, () => Promise<{ stdout: string; stderr: string; exitCode: number }>> = {
      squeue: () => Promise.resolve({ stdout: '', stderr: '', exitCode: 0 }),
      scancel: () => Promise.resolve({ stdout: '', stderr: 'Invalid job id', exitCode: 1 }),
      sbatch: () => Promise.reject(new Error('sbatch not found')),
    };
    const runner = new TimedCommandRunner(
      { run: (command) => (outcomes[command.slice(command.lastIndexOf('/') + 1)] ?? succeeds)() },
      metrics,
    );
    await runner.run('/usr/bin/squeue', ['--me']);
    await runner.run('scancel', ['1']);
    await expect(runner.run('sbatch', ['--parsable'])).rejects.toThrow('sbatch not found');
    expect(observed.map(([command, , failed]) => [command, failed])).toEqual([
      ['squeue', false],
      ['scancel', true],
      ['sbatch', true],
    ]);
    for (const [, seconds] of observed) expect(seconds).toBeGreaterThanOrEqual(0);
  });
});
