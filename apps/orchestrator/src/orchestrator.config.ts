import * as path from 'node:path';
import { z } from 'zod';
import { durationMsFromEnv, parseConfig, portFromEnv } from '@aiplane/config';

// Defaults serve `npm start` from the repository root; on a cluster every one is set explicitly.
const schema = z.object({
  ORCHESTRATOR_HOST: z.string().min(1).default('127.0.0.1'),
  ORCHESTRATOR_PORT: portFromEnv.default(8000),
  REDIS_URL: z.url().default('redis://127.0.0.1:6379'),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/)
    .default('aiplane'),
  RECIPES_DIR: z.string().min(1).default(path.resolve('recipes')),
  PROXY_URL: z.url().default('http://127.0.0.1:8003'),
  /** How long a start or cancel waits for a slurm-worker before answering 503. */
  SCHEDULER_WAIT_MS: durationMsFromEnv.default(20_000),
  UPSTREAM_TIMEOUT_MS: durationMsFromEnv.default(120_000),
  /** Required from clients when set (the gateway sends it); `npm start` generates one per run. */
  ORCHESTRATOR_TOKEN: z.string().min(16).optional(),
  /** Sent to the data-plane proxy; the stack gives the proxy the orchestrator's token, the default here. */
  PROXY_TOKEN: z.string().min(16).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Model search calls this Hub API; a mirror or a test server may stand in for it. */
  HF_HUB_URL: z.url().default('https://huggingface.co'),
  // An empty value means "no token" rather than an Authorization header the Hub would reject.
  HF_TOKEN: z
    .string()
    .optional()
    .transform((value) => (value?.trim() ? value.trim() : undefined)),
  HF_TIMEOUT_MS: durationMsFromEnv.default(10_000),
  /** How long Hub answers are reused; 0 turns the cache off. */
  HF_CACHE_MS: z.coerce.number().int().min(0).max(86_400_000).default(600_000),
  // Per-deployment quotas (issue 10, item 11): over one, a create is 429 with Retry-After. The
  // defaults stop a runaway client loop yet leave room for every e2e suite.
  /** Services and groups holding resources at once; a rollover successor is the same service. */
  QUOTA_MAX_SERVICES: z.coerce.number().int().min(1).max(100_000).default(32),
  /** GPUs of all of them together (per-node GPUs × nodes). */
  QUOTA_MAX_GPUS: z.coerce.number().int().min(0).max(1_000_000).default(64),
  /** Node jobs of all of them together: bounds the scheduler calls one create can cause. */
  QUOTA_MAX_NODES: z.coerce.number().int().min(1).max(100_000).default(64),
  QUOTA_CREATES_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(60),
});

const withDefaults = schema.transform((env) => ({
  ...env,
  PROXY_TOKEN: env.PROXY_TOKEN ?? env.ORCHESTRATOR_TOKEN,
}));

export type OrchestratorConfig = z.infer<typeof withDefaults>;

export function loadOrchestratorConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): OrchestratorConfig {
  return parseConfig('orchestrator', withDefaults, env);
}
