import { performance } from 'node:perf_hooks';
import type { SchedulerMetrics } from '@aiplane/metrics';
import {
  createScheduler,
  type CommandResult,
  type CommandRunner,
  type CommandRunOptions,
  type Scheduler,
} from '@aiplane/scheduler';
import type { SlurmWorkerConfig } from '../slurm-worker.config';

/**
 * The worker's scheduler, as its config describes it. `runner` replaces the SLURM clients in tests;
 * `metrics` times every command run (the local executor runs none).
 */
export function schedulerFromConfig(
  config: SlurmWorkerConfig,
  runner?: CommandRunner,
  metrics?: SchedulerMetrics,
): Scheduler {
  return createScheduler(config.SCHEDULER, {
    stateDir: config.STATE_DIR,
    commandTimeoutMs: config.SLURM_COMMAND_TIMEOUT_MS,
    ...(config.SLURM_USER ? { user: config.SLURM_USER } : {}),
    ...(runner ? { runner } : {}),
    ...(metrics ? { wrapRunner: (inner: CommandRunner) => new TimedCommandRunner(inner, metrics) } : {}),
  });
}

/**
 * Times each scheduler command by its name (sbatch, squeue, scancel, scontrol): a command that
 * could not run, timed out or exited nonzero is a failure. Argument values are never labels.
 */
export class TimedCommandRunner implements CommandRunner {
  constructor(
    private readonly inner: CommandRunner,
    private readonly metrics: SchedulerMetrics,
  ) {}

  async run(command: string, args: readonly string[], options?: CommandRunOptions): Promise<CommandResult> {
    const name = command.slice(command.lastIndexOf('/') + 1);
    const started = performance.now();
    try {
      const result = await this.inner.run(command, args, options);
      this.metrics.observe(name, (performance.now() - started) / 1000, result.exitCode !== 0);
      return result;
    } catch (error) {
      this.metrics.observe(name, (performance.now() - started) / 1000, true);
      throw error;
    }
  }
}
