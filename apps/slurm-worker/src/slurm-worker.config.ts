import * as path from 'node:path';
import { z } from 'zod';
import {
  booleanFromEnv,
  durationMsFromEnv,
  intFromEnv,
  logFormatFromEnv,
  metricsPublishIntervalFromEnv,
  parseConfig,
  redisEnvFields,
} from '@aiplane/config';

const slurmName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/);

// Defaults serve `npm start`: the local executor, simulators from this checkout, state under .aiplane/.
const fields = z.object({
  ...redisEnvFields,
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/)
    .default('aiplane'),
  SCHEDULER: z.enum(['local', 'slurm']).default('local'),
  /** `cluster` runs the recipes' real Apptainer commands; `local` runs the simulators. */
  RUNTIME_PROFILE: z.enum(['local', 'cluster']).default('local'),
  RECIPES_DIR: z.string().min(1).default(path.resolve('recipes')),
  /** Job directories (script, logs, endpoint file); must be on a filesystem the compute nodes share. */
  STATE_DIR: z.string().min(1).default(path.resolve('.aiplane')),
  SIMULATORS_DIR: z.string().min(1).default(path.resolve('dist/apps')),
  /** The helpers jobs run beside their workload (auth_front.py); `<RECIPES_DIR>/runtime` when unset. */
  RUNTIME_DIR: z.string().min(1).optional(),
  /** Host written into endpoints instead of the node's hostname (e.g. 127.0.0.1 on a one-machine cluster). */
  ENDPOINT_HOST: z
    .string()
    .regex(/^[A-Za-z0-9.-]{1,253}$/)
    .optional(),
  POLL_INTERVAL_MS: durationMsFromEnv.default(2_000),
  CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  /**
   * How often the worker compares the scheduler's jobs with the records after its start-up pass:
   * a job sbatch reported as failed but the controller accepted shows up only later.
   */
  RECONCILE_INTERVAL_MS: durationMsFromEnv.default(60_000),
  /**
   * Jobs in the state dir that neither a record nor a submission knows are cancelled only while
   * there are at most this many; more means the records were lost (a flushed Redis, a wrong
   * REDIS_PREFIX), and those jobs are kept running and reported instead.
   */
  RECONCILE_CANCEL_UNKNOWN_MAX: intFromEnv(0, 10_000, 2),
  /** Cancel every unknown job however many there are: only after checking that the records are right. */
  RECONCILE_CANCEL_UNKNOWN: booleanFromEnv.default(false),
  /**
   * Walltime rollover: a successor job is submitted this long before the time limit on top of the
   * observed queue wait and the recipe's longest observed start-up.
   */
  ROLLOVER_MARGIN_MS: durationMsFromEnv.default(120_000),
  /** How long a rolled-over job keeps finishing its in-flight requests before it is cancelled. */
  ROLLOVER_DRAIN_MS: durationMsFromEnv.default(15_000),
  SLURM_PARTITION: slurmName.optional(),
  SLURM_ACCOUNT: slurmName.optional(),
  SLURM_QOS: slurmName.optional(),
  /**
   * How long one SLURM client call (sbatch, squeue, scancel, scontrol) may take before it counts as
   * the controller being unavailable: raise it on clusters whose slurmctld answers slowly under load.
   */
  SLURM_COMMAND_TIMEOUT_MS: durationMsFromEnv.default(30_000),
  SLURM_USER: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .optional(),
  /** Comma-separated `module load` names that replace the recipes' own, e.g. "Apptainer/1.3.1". */
  CLUSTER_MODULES: z
    .string()
    .regex(/^[A-Za-z0-9_./+,-]*$/)
    .optional()
    .transform((value) => (value ? value.split(',').filter(Boolean) : undefined)),
  /** PATH and HOME the jobs get: the worker's own environment is not passed on to jobs. */
  PATH: z.string().default('/usr/local/bin:/usr/bin:/bin'),
  HOME: z.string().default('/tmp'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `json` (default) or `pretty`: one coloured line per entry, for a terminal. */
  LOG_FORMAT: logFormatFromEnv,
  /** Every how many ms this app's metrics go to Redis, for the orchestrator's metrics route. */
  METRICS_PUBLISH_INTERVAL_MS: metricsPublishIntervalFromEnv,
});

// Jobs read RUNTIME_DIR on the compute node and bind it into Apptainer, whose --bind splits on , and :.
const RUNTIME_DIR_PATTERN = /^\/[^,:]*$/;

const schema = fields
  .transform((config) => ({
    ...config,
    RUNTIME_DIR: path.resolve(config.RUNTIME_DIR ?? path.join(config.RECIPES_DIR, 'runtime')),
  }))
  .refine((config) => RUNTIME_DIR_PATTERN.test(config.RUNTIME_DIR), {
    path: ['RUNTIME_DIR'],
    error: 'must be a path without , or : (it is bound into Apptainer)',
  });

export type SlurmWorkerConfig = z.infer<typeof schema>;

export function loadSlurmWorkerConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): SlurmWorkerConfig {
  return parseConfig('slurm-worker', schema, env);
}
