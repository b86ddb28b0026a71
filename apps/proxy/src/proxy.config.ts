import * as path from 'node:path';
import { z } from 'zod';
import {
  booleanFromEnv,
  durationMsFromEnv,
  intFromEnv,
  logFormatFromEnv,
  metricsPublishIntervalFromEnv,
  optionalTextFromEnv,
  parseConfig,
  portFromEnv,
  redisEnvFields,
  requiredTokenFromEnv,
} from '@aiplane/config';

const schema = z.object({
  PROXY_HOST: z.string().min(1).default('127.0.0.1'),
  PROXY_PORT: portFromEnv.default(8003),
  /**
   * When set, the proxy listens on this Unix socket (0600, in a 0700 directory) instead of
   * PROXY_HOST:PROXY_PORT: on a shared login node any user can reach 127.0.0.1.
   */
  PROXY_SOCKET: optionalTextFromEnv,
  ...redisEnvFields,
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/)
    .default('aiplane'),
  /** Until the workload's first response byte; generation can be slow on a busy GPU. */
  UPSTREAM_TIMEOUT_MS: durationMsFromEnv.default(120_000),
  /** A workload that cannot even accept a connection this fast is treated as down. */
  CONNECT_TIMEOUT_MS: durationMsFromEnv.default(3_000),
  /** How long the served model name of an endpoint is remembered. */
  MODEL_CACHE_MS: durationMsFromEnv.default(60_000),
  /**
   * Every request but GET /health must carry `Authorization: Bearer <PROXY_TOKEN>`, socket or not:
   * the proxy adds workloads' keys, so it is the way to every workload. The stack sets it to the
   * orchestrator's token, which the gateway and the orchestrator send.
   */
  PROXY_TOKEN: requiredTokenFromEnv,
  /** The recipes, for the model a vLLM service serves by default. */
  RECIPES_DIR: z.string().min(1).default(path.resolve('recipes')),
  /**
   * The routing view is kept in memory and re-read when the registry announces a change; this
   * bounds how stale it can be when an announcement is missed.
   */
  ROUTING_CACHE_MS: durationMsFromEnv.default(1_000),
  /**
   * Retry-After (seconds) for a model or service that is not ready yet, by its status, when
   * neither the scheduler's start estimate nor the recipe's observed start-up time says more
   * (error-body.writer.ts); CONFIGURING is also the start-up allowance added to an estimate.
   */
  RETRY_AFTER_PENDING_S: intFromEnv(1, 86_400, 30),
  RETRY_AFTER_CONFIGURING_S: intFromEnv(1, 86_400, 10),
  /**
   * Each new connection to a workload must first prove, by the HMAC of a fresh nonce, that its peer
   * holds the key the request carries: a replica's front can die and another user bind its port
   * before the prober notices. Off only for tests that call bare simulators without a front.
   */
  WORKLOAD_KEY_PROOF: booleanFromEnv.default(true),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `json` (default) or `pretty`: one coloured line per entry, for a terminal. */
  LOG_FORMAT: logFormatFromEnv,
  /** Every how many ms this app's metrics go to Redis, for the orchestrator's metrics route. */
  METRICS_PUBLISH_INTERVAL_MS: metricsPublishIntervalFromEnv,
});

export type ProxyConfig = z.infer<typeof schema>;

export function loadProxyConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): ProxyConfig {
  return parseConfig('proxy', schema, env);
}
