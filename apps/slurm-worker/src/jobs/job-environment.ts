import type { SlurmWorkerConfig } from '../slurm-worker.config';

/**
 * The complete environment a job starts with. The scheduler exports the submitting environment
 * to the job, so this is how user values reach the workload byte-for-byte without ever being
 * written into a script. The worker's own environment (Redis URL, tokens) is deliberately absent.
 */
export function buildJobEnvironment(
  workload: Readonly<Record<string, string>>,
  config: Pick<SlurmWorkerConfig, 'PATH' | 'HOME' | 'SIMULATORS_DIR' | 'ENDPOINT_HOST'>,
): Record<string, string> {
  const env: Record<string, string> = {
    PATH: config.PATH,
    HOME: config.HOME,
    LANG: 'C.UTF-8',
    ...workload,
    AIPLANE_SIMULATORS_DIR: config.SIMULATORS_DIR,
  };
  if (config.ENDPOINT_HOST) env.AIPLANE_ENDPOINT_HOST = config.ENDPOINT_HOST;
  return env;
}
