import { runConfiguredProcess } from '@aiplane/config';
import { loadSimConfigFromProcess, SimConfigError } from './sim.config';
import { startSim } from './sim.server';

runConfiguredProcess({
  name: 'vllm-sim',
  loadConfig: loadSimConfigFromProcess,
  isConfigError: (error) => error instanceof SimConfigError,
  start: startSim,
  // SLURM gives a job a grace period after SIGTERM; stay well inside the one second promised to the control plane.
  shutdownDeadlineMs: 900,
});
