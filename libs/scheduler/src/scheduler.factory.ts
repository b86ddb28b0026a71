import { type CommandRunner, ExecFileCommandRunner } from './command.runner';
import { LocalScheduler } from './local.scheduler';
import { SchedulerError } from './scheduler.errors';
import type { Scheduler, SchedulerKind } from './scheduler.types';
import { SlurmScheduler } from './slurm.scheduler';

export interface CreateSchedulerOptions {
  /** local: where job records live (required). */
  stateDir?: string;
  /** local: grace between SIGTERM and SIGKILL on cancel. */
  killGraceMs?: number;
  /** slurm: restrict squeue to this user (default: the user running the process, `--me`). */
  user?: string;
  /** slurm: per-command timeout; a command that takes longer counts as UNAVAILABLE. */
  commandTimeoutMs?: number;
  /** slurm: how commands are run; defaults to spawning the SLURM clients directly. */
  runner?: CommandRunner;
  /** slurm: wraps whichever runner is used (timing it, for one). */
  wrapRunner?: (runner: CommandRunner) => CommandRunner;
}

export function createScheduler(kind: SchedulerKind, options: CreateSchedulerOptions = {}): Scheduler {
  switch (kind) {
    case 'slurm': {
      const base =
        options.runner ??
        new ExecFileCommandRunner(options.commandTimeoutMs ? { timeoutMs: options.commandTimeoutMs } : {});
      const runner = options.wrapRunner ? options.wrapRunner(base) : base;
      return new SlurmScheduler(runner, {
        ...(options.user ? { user: options.user } : {}),
        ...(options.commandTimeoutMs ? { commandTimeoutMs: options.commandTimeoutMs } : {}),
      });
    }
    case 'local': {
      if (!options.stateDir) throw new SchedulerError('REJECTED', 'the local scheduler needs a stateDir');
      return new LocalScheduler({
        stateDir: options.stateDir,
        ...(options.killGraceMs !== undefined ? { killGraceMs: options.killGraceMs } : {}),
      });
    }
  }
}
