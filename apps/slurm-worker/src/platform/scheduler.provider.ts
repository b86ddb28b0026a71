import { createScheduler, type CommandRunner, type Scheduler } from '@aiplane/scheduler';
import type { SlurmWorkerConfig } from '../slurm-worker.config';

/** The worker's scheduler, as its config describes it. `runner` replaces the SLURM clients in tests. */
export function schedulerFromConfig(config: SlurmWorkerConfig, runner?: CommandRunner): Scheduler {
  return createScheduler(config.SCHEDULER, {
    stateDir: config.STATE_DIR,
    commandTimeoutMs: config.SLURM_COMMAND_TIMEOUT_MS,
    ...(config.SLURM_USER ? { user: config.SLURM_USER } : {}),
    ...(runner ? { runner } : {}),
  });
}
