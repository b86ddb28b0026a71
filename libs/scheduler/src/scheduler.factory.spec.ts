import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandRunner } from './command.runner';
import { LocalScheduler } from './local.scheduler';
import { createScheduler } from './scheduler.factory';
import { SlurmScheduler } from './slurm.scheduler';

describe('createScheduler', () => {
  it('builds a SLURM scheduler on the given runner', async () => {
    const calls: string[][] = [];
    const runner: CommandRunner = {
      run: (command, args) => {
        calls.push([command, ...args]);
        return Promise.resolve({ stdout: 'Slurmctld(primary) at x is UP\n', stderr: '', exitCode: 0 });
      },
    };
    const scheduler = createScheduler('slurm', { runner, user: 'alice' });
    expect(scheduler).toBeInstanceOf(SlurmScheduler);
    expect(scheduler.kind).toBe('slurm');
    await scheduler.ping();
    expect(calls).toEqual([['scontrol', 'ping']]);
  });

  it('builds a local scheduler, which needs a state dir', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aiplane-factory-'));
    try {
      const scheduler = createScheduler('local', { stateDir: dir });
      expect(scheduler).toBeInstanceOf(LocalScheduler);
      expect(scheduler.kind).toBe('local');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    let error: unknown;
    try {
      createScheduler('local', {});
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'REJECTED' });
  });
});
