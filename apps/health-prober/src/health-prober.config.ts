import { z } from 'zod';
import {
  durationMsFromEnv,
  logFormatFromEnv,
  metricsPublishIntervalFromEnv,
  parseConfig,
  redisEnvFields,
} from '@aiplane/config';

const schema = z
  .object({
    ...redisEnvFields,
    REDIS_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/)
      .default('aiplane'),
    PROBE_INTERVAL_MS: durationMsFromEnv.default(2_000),
    /** Shorter than the interval, so a workload that accepts but never answers is out within two intervals. */
    PROBE_TIMEOUT_MS: durationMsFromEnv.default(1_500),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** `json` (default) or `pretty`: one coloured line per entry, for a terminal. */
    LOG_FORMAT: logFormatFromEnv,
    /** Every how many ms this app's metrics go to Redis, for the orchestrator's metrics route. */
    METRICS_PUBLISH_INTERVAL_MS: metricsPublishIntervalFromEnv,
  })
  .refine((config) => config.PROBE_TIMEOUT_MS < config.PROBE_INTERVAL_MS, {
    error: 'PROBE_TIMEOUT_MS must be shorter than PROBE_INTERVAL_MS',
    path: ['PROBE_TIMEOUT_MS'],
  });

export type HealthProberConfig = z.infer<typeof schema>;

export function loadHealthProberConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): HealthProberConfig {
  return parseConfig('health-prober', schema, env);
}
