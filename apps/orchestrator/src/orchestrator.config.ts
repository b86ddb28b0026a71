import * as path from 'node:path';
import { z } from 'zod';
import {
  blankToUndefined,
  durationMsFromEnv,
  intFromEnv,
  logFormatFromEnv,
  optionalTextFromEnv,
  optionalTokenFromEnv,
  parseConfig,
  portFromEnv,
  redisEnvFields,
  requiredTokenFromEnv,
} from '@aiplane/config';

const slurmName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/);

// A GPU's memory in GB (GiB, as nvidia-smi counts it); 1 TB is beyond any GPU sold.
const gpuMemoryGb = z.number().positive().max(1024);

/**
 * `partition=GB,...`, e.g. `gpu=40,fat=80`: the memory of one GPU of each partition the fit check
 * knows. MeluXina's `gpu` partition (A100 40 GB) is the default.
 */
const gpuMemoryTable = z.preprocess(
  blankToUndefined,
  z
    .string()
    .default('gpu=40')
    .transform((text, context) => {
      const table = new Map<string, number>();
      for (const entry of text.split(',').map((part) => part.trim())) {
        if (entry === '') continue;
        const match = /^([^=\s]+)\s*=\s*([0-9.]+)$/.exec(entry);
        const name = match?.[1];
        const size = gpuMemoryGb.safeParse(Number(match?.[2]));
        if (name === undefined || !slurmName.safeParse(name).success || !size.success) {
          context.addIssue({
            code: 'custom',
            message: `"${entry}" is not partition=GB (a SLURM partition name, then GB per GPU in (0, 1024])`,
          });
          return z.NEVER;
        }
        table.set(name, size.data);
      }
      return table;
    }),
);

// Defaults serve `npm start` from the repository root; on a cluster every one is set explicitly.
const schema = z.object({
  /**
   * Where TCP clients (compute nodes, Docker) reach it: a cluster-reachable interface. Port 0 takes
   * a free one, which ORCHESTRATOR_CONNECTION_FILE then names.
   */
  ORCHESTRATOR_HOST: z.string().min(1).default('127.0.0.1'),
  ORCHESTRATOR_PORT: portFromEnv.default(8000),
  /**
   * When set, the orchestrator also listens on this Unix socket (0600, in a 0700 directory): the
   * gateway's way in on a shared login node, where any user can reach 127.0.0.1.
   */
  ORCHESTRATOR_SOCKET: optionalTextFromEnv,
  /** When set, `{url, token}` for on-cluster clients is written here (0600) once listening. */
  ORCHESTRATOR_CONNECTION_FILE: optionalTextFromEnv,
  ...redisEnvFields,
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/)
    .default('aiplane'),
  RECIPES_DIR: z.string().min(1).default(path.resolve('recipes')),
  PROXY_URL: z.url().default('http://127.0.0.1:8003'),
  /** The proxy's Unix socket; when set it is used instead of PROXY_URL. */
  PROXY_SOCKET: optionalTextFromEnv,
  /** How long a start or cancel waits for a slurm-worker before answering 503. */
  SCHEDULER_WAIT_MS: durationMsFromEnv.default(20_000),
  UPSTREAM_TIMEOUT_MS: durationMsFromEnv.default(120_000),
  /** Required from every client (the gateway sends it); `npm start` generates one per run. */
  ORCHESTRATOR_TOKEN: requiredTokenFromEnv,
  /** Sent to the data-plane proxy; the stack gives the proxy the orchestrator's token, the default here. */
  PROXY_TOKEN: optionalTokenFromEnv,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `json` (default) or `pretty`: one coloured line per entry, for a terminal. */
  LOG_FORMAT: logFormatFromEnv,
  /**
   * The most one logs answer holds, over all of a group's nodes and replicas; each log gets an equal
   * share and is cut from the top, visibly, beyond it.
   */
  LOGS_MAX_RESPONSE_BYTES: intFromEnv(64 * 1024, 256 * 1024 * 1024, 4 * 1024 * 1024),
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
  // The fit check (docs/fit-check.md): a vLLM model whose weights exceed its GPUs is refused before
  // it queues; one without KV-cache headroom, or of unknown size, gets a warning in its record.
  /** Memory of one GPU per partition. */
  FIT_GPU_MEMORY_GB: gpuMemoryTable,
  /**
   * A partition the table does not name. Generous on purpose: a wrong refusal costs a researcher
   * their service, a missed one only the queue wait the check exists to save.
   */
  FIT_DEFAULT_GPU_MEMORY_GB: z.preprocess(blankToUndefined, z.coerce.number().pipe(gpuMemoryGb).default(80)),
  /**
   * The partition jobs go to when a request names none: set it to the slurm-worker's
   * SLURM_PARTITION, so that the check uses that partition's GPUs. Unset: the table's default.
   */
  SLURM_PARTITION: z.preprocess(blankToUndefined, slurmName.optional()),
  /** KV cache wanted beside the weights, as a fraction of the weights. */
  FIT_KV_HEADROOM_FRACTION: z.preprocess(blankToUndefined, z.coerce.number().min(0).max(10).default(0.2)),
  /** Per GPU, for the CUDA context, activations and CUDA graphs. */
  FIT_GPU_OVERHEAD_GB: z.preprocess(blankToUndefined, z.coerce.number().min(0).max(64).default(1)),
  /** The most a create waits for the Hub's size of a model; then it goes on with a warning. */
  FIT_HUB_TIMEOUT_MS: durationMsFromEnv.default(3_000),
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
