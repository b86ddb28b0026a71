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
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type OrchestratorConfig = z.infer<typeof schema>;

export function loadOrchestratorConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): OrchestratorConfig {
  return parseConfig('orchestrator', schema, env);
}
