import { z } from 'zod';
import {
  blankToUndefined,
  intFromEnv,
  optionalTextFromEnv,
  parseEnvVariables,
  textFromEnv,
} from '@aiplane/config';

export interface SimConfig {
  host: string;
  /** REST port (`QDRANT__SERVICE__HTTP_PORT`); 0 picks a free one. */
  httpPort: number;
  /** Accepted so the job's environment validates, but the simulator serves no gRPC. */
  grpcPort: number;
  /** Read-write key: every route but the health probes needs it once set. */
  apiKey: string | undefined;
  /** Read-only key: reads pass, writes answer 403, as in Qdrant. */
  readOnlyApiKey: string | undefined;
  /** Largest JSON body accepted, in bytes (`QDRANT__SERVICE__MAX_REQUEST_SIZE_MB`). */
  maxRequestBytes: number;
  /** When set, collections are kept as JSON files below it and loaded again at start. */
  storagePath: string | undefined;
  startupDelayMs: number;
  failRate: number;
  version: string;
}

export class SimConfigError extends Error {
  readonly code = 'SIM_CONFIG_INVALID';

  constructor(readonly problems: string[]) {
    super(`qdrant-sim: invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SimConfigError';
  }
}

// The release the recipe runs on the cluster (qdrant/qdrant:v1.18.2), whose REST shapes and metric names the
// simulator reproduces (recipes/releases/qdrant-v1.18.2.json). The official JS client 1.18 accepts a server one
// minor version away at most.
export const DEFAULT_QDRANT_VERSION = '1.18.2';

// Keys are compared byte for byte, as Qdrant does, so they are not trimmed.
const optionalKey = z.preprocess(blankToUndefined, z.string().optional());

const envSchema = z.object({
  QDRANT__SERVICE__HOST: textFromEnv('0.0.0.0'),
  QDRANT__SERVICE__HTTP_PORT: intFromEnv(0, 65_535, 6333),
  QDRANT__SERVICE__GRPC_PORT: intFromEnv(0, 65_535, 6334),
  QDRANT__SERVICE__API_KEY: optionalKey,
  QDRANT__SERVICE__READ_ONLY_API_KEY: optionalKey,
  QDRANT__SERVICE__MAX_REQUEST_SIZE_MB: intFromEnv(1, 4096, 32),
  QDRANT__STORAGE__STORAGE_PATH: optionalTextFromEnv,
  SIM_STARTUP_DELAY_MS: intFromEnv(0, 3_600_000, 0),
  SIM_FAIL_RATE: z.preprocess(blankToUndefined, z.coerce.number().min(0).max(1).default(0)),
  SIM_QDRANT_VERSION: textFromEnv(DEFAULT_QDRANT_VERSION),
});

export function loadSimConfig(env: Record<string, string | undefined>): SimConfig {
  const parsed = parseEnvVariables(envSchema, env);
  if (!parsed.ok) throw new SimConfigError(parsed.problems);
  const e = parsed.data;
  return {
    host: e.QDRANT__SERVICE__HOST,
    httpPort: e.QDRANT__SERVICE__HTTP_PORT,
    grpcPort: e.QDRANT__SERVICE__GRPC_PORT,
    apiKey: e.QDRANT__SERVICE__API_KEY,
    readOnlyApiKey: e.QDRANT__SERVICE__READ_ONLY_API_KEY,
    maxRequestBytes: e.QDRANT__SERVICE__MAX_REQUEST_SIZE_MB * 1024 * 1024,
    storagePath: e.QDRANT__STORAGE__STORAGE_PATH,
    startupDelayMs: e.SIM_STARTUP_DELAY_MS,
    failRate: e.SIM_FAIL_RATE,
    version: e.SIM_QDRANT_VERSION,
  };
}

/** The one place the simulator reads the process environment. */
export function loadSimConfigFromProcess(): SimConfig {
  return loadSimConfig(process.env);
}
