import { z } from 'zod';
import {
  blankToUndefined,
  intFromEnv,
  optionalTextFromEnv,
  parseEnvVariables,
  textFromEnv,
} from '@aiplane/config';

import { knownContextLength, maxModelLenRefusal, UNKNOWN_MODEL_CONTEXT_LENGTH } from './context-length.rules';
import { defaultEmbeddingDimension, isEmbeddingModel } from './embedding.catalogue';

export type ChatTemplateMode = 'auto' | 'true' | 'false';

export interface SimConfig {
  /** Model path as vLLM would get it (`--model`). */
  model: string;
  /** Names accepted in the `model` field; the first one labels metrics and defaults responses. */
  servedModelNames: string[];
  host: string;
  port: number;
  /** Like vLLM's --uds: listen on this Unix socket instead of host:port. */
  uds: string | undefined;
  maxModelLen: number;
  /** Like --gpu-memory-utilization; only shown, in vllm:cache_config_info. */
  gpuMemoryUtilization: number;
  apiKey: string | undefined;
  startupDelayMs: number;
  ttftMs: number;
  tokenLatencyMs: number;
  failRate: number;
  chatTemplate: ChatTemplateMode;
  /** Like vLLM's --max-num-seqs: requests beyond it wait, which is what `num_requests_waiting` shows. */
  maxNumSeqs: number;
  version: string;
  /**
   * vLLM's --runner as it would resolve it from the checkpoint: `pooling` serves /v1/embeddings and refuses chat
   * and completions, `generate` the other way round.
   */
  runner: 'generate' | 'pooling';
  /** Length of the vectors a pooling model returns. */
  embeddingDimension: number;
}

export class SimConfigError extends Error {
  readonly code = 'SIM_CONFIG_INVALID';

  constructor(readonly problems: string[]) {
    super(`vllm-sim: invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SimConfigError';
  }
}

export const DEFAULT_MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';
// The release the vLLM recipes run (vllm/vllm-openai:v0.11.0), whose metric names and API shapes the simulator
// reproduces; recipes/releases/vllm-openai-v0.11.0.json lists them and the release contract spec holds both to it.
export const DEFAULT_VLLM_VERSION = '0.11.0';

const envSchema = z.object({
  VLLM_MODEL: textFromEnv(DEFAULT_MODEL),
  VLLM_HOST: textFromEnv('0.0.0.0'),
  VLLM_PORT: intFromEnv(0, 65_535, 8000),
  // sun_path holds 108 bytes including the terminating NUL.
  VLLM_UDS: z.preprocess(
    blankToUndefined,
    z
      .string()
      .refine((path) => path.startsWith('/'), 'must be an absolute path')
      .refine((path) => Buffer.byteLength(path) <= 107, 'must be at most 107 bytes (sun_path)')
      .optional(),
  ),
  VLLM_MAX_MODEL_LEN: z.preprocess(
    blankToUndefined,
    z.coerce.number().int().min(1).max(10_000_000).optional(),
  ),
  // vLLM's own switch (vllm/envs.py): "1" or "true" lets --max-model-len exceed the model's limit.
  VLLM_ALLOW_LONG_MAX_MODEL_LEN: z.preprocess(
    (value) => typeof value === 'string' && ['1', 'true'].includes(value.trim().toLowerCase()),
    z.boolean(),
  ),
  VLLM_GPU_MEMORY_UTILIZATION: z.preprocess(blankToUndefined, z.coerce.number().gt(0).max(1).default(0.9)),
  VLLM_API_KEY: optionalTextFromEnv,
  VLLM_SERVED_MODEL_NAME: optionalTextFromEnv,
  SIM_STARTUP_DELAY_MS: intFromEnv(0, 3_600_000, 0),
  SIM_TTFT_MS: intFromEnv(0, 600_000, 0),
  SIM_TOKEN_LATENCY_MS: intFromEnv(0, 60_000, 0),
  SIM_FAIL_RATE: z.preprocess(blankToUndefined, z.coerce.number().min(0).max(1).default(0)),
  SIM_CHAT_TEMPLATE: z.preprocess(
    (value) => (typeof value === 'string' ? blankToUndefined(value.trim().toLowerCase()) : value),
    z.enum(['auto', 'true', 'false']).default('auto'),
  ),
  SIM_MAX_NUM_SEQS: intFromEnv(1, 100_000, 256),
  SIM_VLLM_VERSION: textFromEnv(DEFAULT_VLLM_VERSION),
  SIM_EMBEDDING_DIM: z.preprocess(blankToUndefined, z.coerce.number().int().min(1).max(65_536).optional()),
});

export function loadSimConfig(env: Record<string, string | undefined>): SimConfig {
  const parsed = parseEnvVariables(envSchema, env);
  if (!parsed.ok) throw new SimConfigError(parsed.problems);
  const e = parsed.data;
  // vLLM takes --served-model-name as a space-separated list (nargs="+"); the model path is then no longer accepted.
  const served = e.VLLM_SERVED_MODEL_NAME?.split(/\s+/).filter((name) => name !== '') ?? [];
  // As vLLM: the model's own limit unless the user asks for less, and a refusal to start when they ask for more.
  const known = knownContextLength(e.VLLM_MODEL);
  const requested = e.VLLM_MAX_MODEL_LEN;
  if (
    known !== undefined &&
    requested !== undefined &&
    requested > known.tokens &&
    !e.VLLM_ALLOW_LONG_MAX_MODEL_LEN
  ) {
    throw new SimConfigError([`VLLM_MAX_MODEL_LEN=${requested}: ${maxModelLenRefusal(requested, known)}`]);
  }
  return {
    model: e.VLLM_MODEL,
    servedModelNames: served.length > 0 ? served : [e.VLLM_MODEL],
    host: e.VLLM_HOST,
    port: e.VLLM_PORT,
    uds: e.VLLM_UDS,
    maxModelLen: requested ?? known?.tokens ?? UNKNOWN_MODEL_CONTEXT_LENGTH,
    gpuMemoryUtilization: e.VLLM_GPU_MEMORY_UTILIZATION,
    apiKey: e.VLLM_API_KEY,
    startupDelayMs: e.SIM_STARTUP_DELAY_MS,
    ttftMs: e.SIM_TTFT_MS,
    tokenLatencyMs: e.SIM_TOKEN_LATENCY_MS,
    failRate: e.SIM_FAIL_RATE,
    chatTemplate: e.SIM_CHAT_TEMPLATE,
    maxNumSeqs: e.SIM_MAX_NUM_SEQS,
    version: e.SIM_VLLM_VERSION,
    runner: isEmbeddingModel(e.VLLM_MODEL) ? 'pooling' : 'generate',
    embeddingDimension: e.SIM_EMBEDDING_DIM ?? defaultEmbeddingDimension(e.VLLM_MODEL),
  };
}

/** The one place the simulator reads the process environment. */
export function loadSimConfigFromProcess(): SimConfig {
  return loadSimConfig(process.env);
}

// Base models ship no chat template; vLLM then refuses /v1/chat/completions.
const BASE_MODEL_PATTERN = /gpt2|opt-|bloom/i;

export function hasChatTemplate(config: Pick<SimConfig, 'model' | 'chatTemplate'>): boolean {
  if (config.chatTemplate === 'auto') return !BASE_MODEL_PATTERN.test(config.model);
  return config.chatTemplate === 'true';
}
