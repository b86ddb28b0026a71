import { randomBytes } from 'node:crypto';
import { API_KEY_VARIABLE, REPLICA_KEYS_VARIABLE, type RecipeKind } from '@aiplane/recipes';
import { replicaApiKey } from '@aiplane/registry';
import type { SlurmWorkerConfig } from '../slurm-worker.config';

/** A fresh key for one scheduler job's workload: 256 random bits, safe in a header and in env. */
export function newApiKey(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The complete environment a job starts with. The scheduler exports the submitting environment
 * to the job, so this is how user values reach the workload byte-for-byte without ever being
 * written into a script. The worker's own environment (Redis URL, tokens) is deliberately absent.
 * The workload's API key goes in after the user's values, so that nothing a user sends can replace
 * it (mergeConfig refuses the name anyway). A replica group's node job also gets one key per
 * replica, each derived from the job's, so that no replica holds another's.
 */
export function buildJobEnvironment(
  workload: Readonly<Record<string, string>>,
  config: Pick<SlurmWorkerConfig, 'PATH' | 'HOME' | 'SIMULATORS_DIR' | 'RUNTIME_DIR' | 'ENDPOINT_HOST'>,
  auth: { kind: RecipeKind; apiKey: string; replicas?: number },
): Record<string, string> {
  const env: Record<string, string> = {
    PATH: config.PATH,
    HOME: config.HOME,
    LANG: 'C.UTF-8',
    ...workload,
    AIPLANE_SIMULATORS_DIR: config.SIMULATORS_DIR,
    AIPLANE_RUNTIME_DIR: config.RUNTIME_DIR,
    [API_KEY_VARIABLE[auth.kind]]: auth.apiKey,
  };
  if (auth.replicas !== undefined) {
    env[REPLICA_KEYS_VARIABLE] = Array.from({ length: auth.replicas }, (_, index) =>
      replicaApiKey(auth.apiKey, index),
    ).join(',');
  }
  if (config.ENDPOINT_HOST) env.AIPLANE_ENDPOINT_HOST = config.ENDPOINT_HOST;
  return env;
}
