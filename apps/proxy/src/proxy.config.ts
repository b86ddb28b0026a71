import { z } from 'zod';
import { durationMsFromEnv, parseConfig, portFromEnv } from '@aiplane/config';

const schema = z.object({
  PROXY_HOST: z.string().min(1).default('127.0.0.1'),
  PROXY_PORT: portFromEnv.default(8003),
  REDIS_URL: z.url().default('redis://127.0.0.1:6379'),
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
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type ProxyConfig = z.infer<typeof schema>;

export function loadProxyConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): ProxyConfig {
  return parseConfig('proxy', schema, env);
}
