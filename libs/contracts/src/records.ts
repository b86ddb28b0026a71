import { z } from 'zod';
import type { EntryStatus } from './groups';
import type { ServiceStatus } from './status';

/**
 * The `config` of a create request as the user sent it (after shape validation): counts may be
 * numbers or digit strings, `gpu` may be null. The recipes library coerces it; records keep it as sent.
 */
export interface ServiceConfig {
  environment?: Record<string, string | number | boolean>;
  resources?: ResourceRequest;
  gpu_per_replica?: number | string;
  // Flat aliases the document's clients send (CONTRACT.md "Requests"); the nested form wins.
  /** Alias of resources.nodes. */
  nodes?: number | string;
  /** Alias of resources.cpu. */
  cpu?: number | string;
  /** Alias of resources.memory. */
  memory?: string | number;
  /** Alias of resources.time_limit. */
  time_limit?: number | string;
  /** Alias of resources.gpu. */
  gpu?: number | string | null;
  /** Alias of environment.VLLM_MODEL. */
  model?: string | number | boolean;
  /** Alias of environment.VLLM_MAX_MODEL_LEN. */
  max_model_len?: string | number | boolean;
  /** Alias of environment.VLLM_GPU_MEMORY_UTILIZATION. */
  gpu_memory_utilization?: string | number | boolean;
  /** Alias of environment.VLLM_PORT. */
  replica_port?: string | number | boolean;
  /** The replica group's base port (the recipe's ports.base); the job reads it from its port variable. */
  base_port?: number | string;
  /** false turns walltime rollover off (CONTRACT.md "Queue, timeline, rollover, idle"); on by default. */
  rollover?: boolean;
  /**
   * Minutes (decimals allowed) without a data-plane request after which the service is stopped and
   * shows `idle`; the next request starts it again. Absent: never stopped for idleness.
   */
  idle_timeout?: number | string;
}

export interface ResourceRequest {
  nodes?: number | string;
  cpu?: number | string;
  memory?: string | number;
  time_limit?: number | string;
  /** null, 0 or "0" means CPU-only (the document's `"gpu": null`). */
  gpu?: number | string | null;
  partition?: string;
  account?: string;
  qos?: string;
}

const count = z.union([z.number(), z.string()]);

/**
 * A ServiceConfig as stored. The edge validated it in detail when it arrived; a reader checks the
 * shape it relies on. Unknown keys are kept: the record holds the config as sent.
 */
export const serviceConfigSchema = z.looseObject({
  environment: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  resources: z
    .looseObject({
      nodes: count.optional(),
      cpu: count.optional(),
      memory: count.optional(),
      time_limit: count.optional(),
      gpu: count.nullable().optional(),
      partition: z.string().optional(),
      account: z.string().optional(),
      qos: z.string().optional(),
    })
    .optional(),
  gpu_per_replica: count.optional(),
  rollover: z.boolean().optional(),
  idle_timeout: count.optional(),
}) satisfies z.ZodType<ServiceConfig>;

/** Whether a config leaves walltime rollover on: only an explicit false turns it off. */
export function rolloverEnabled(config: ServiceConfig): boolean {
  return config.rollover !== false;
}

/**
 * Where a pending job stands in the scheduler's queue. Present exactly while the status is
 * `pending`, absent otherwise (never null).
 */
export interface QueueInfo {
  /**
   * 1 = the next to start among the pending jobs of its partition, every user's jobs the scheduler
   * shows, by priority. null while the scheduler has not been read yet, or has no queue (the local
   * executor starts jobs at once, so its records are pending only until the first poll).
   */
  position: number | null;
  /** The scheduler's pending reason (SLURM's `Resources`, `Priority`, `QOSMaxGRESPerUser`, ...), or null. */
  reason: string | null;
  /** When the scheduler expects the job to start (ISO 8601), or null when it has no estimate. */
  estimated_start: string | null;
}

/** When a service (or a group, or one node job) was submitted, started, first ready, and ended. */
export interface Timeline {
  /** ISO 8601, or null until known. */
  submitted_at: string | null;
  started_at: string | null;
  /** When its readiness probe first passed. */
  ready_at: string | null;
  ended_at: string | null;
}

/** One scheduler job a service ran as: the first, then each walltime rollover successor. */
export interface GenerationRecord {
  job_id: string;
  started_at: string | null;
  ended_at: string | null;
}

export const ROLLOVER_STATES = [
  /** No time limit, `config.rollover: false`, or a limit too short for a rollover (see warnings). */
  'off',
  /** A successor will be submitted ahead of the limit. */
  'scheduled',
  /** The successor is queued. */
  'successor_pending',
  /** The successor runs and is loading. */
  'successor_starting',
  /** The successor serves; the predecessor finishes its in-flight requests, then is cancelled. */
  'draining',
  /** A vector database: the old job stopped, the new one starts on the same storage (503s meanwhile). */
  'restarting',
  /** The successor cannot be ready before the limit: the service ends at its limit unless it can. */
  'late',
] as const;
export type RolloverState = (typeof ROLLOVER_STATES)[number];

/** Where a service stands with its walltime rollover; `message` says it in words. */
export interface RolloverInfo {
  state: RolloverState;
  message: string | null;
  /** The successor's job id while one is queued or starting, else null. */
  successor_job_id: string | null;
}

/** The single-node service record exactly as the contract shows it to clients. */
export interface ServiceRecord {
  id: string;
  name: string;
  recipe_name: string;
  status: ServiceStatus;
  config: ServiceConfig;
  created_at: string;
  updated_at: string;
  endpoint: string | null;
  job_id: string;
  type: 'service';
  /**
   * What a person should know about this service that did not stop it being created (a model that
   * may not fit its GPUs, or whose size could not be checked); always present, [] when none.
   */
  warnings: string[];
  /** Only while `pending`. */
  queue?: QueueInfo;
  /** The service as a whole: across rollovers, from its first job's submission to its end. */
  timeline: Timeline;
  /** Every job it ran as, oldest first; the last one is `job_id`. */
  generations: GenerationRecord[];
  rollover: RolloverInfo;
}

/** The body of `POST /services`; `config` as the user sent it. */
export interface CreateServiceRequest {
  recipe_name: string;
  config?: ServiceConfig;
}

/** The body of `POST .../status`; "cancelled" is the only value a client may set. */
export interface UpdateStatusRequest {
  status: string;
}

/** One entry of `GET /vllm/services` and `GET /vector-db/services`: a service, or a group (endpoint null). */
export interface ServiceSummary {
  id: string;
  name: string;
  recipe_name: string;
  endpoint: string | null;
  status: EntryStatus;
}

export interface VllmServicesResponse {
  vllm_services: ServiceSummary[];
}

export interface VectorDbServicesResponse {
  vector_db_services: ServiceSummary[];
}

export interface LogsResponse {
  /** Last lines of stdout and stderr, and of each replica for groups, under `=== ... ===` headings. */
  logs: string;
}

/** `GET /services/{id}/status`; for a group, its overall status. */
export interface ServiceStatusResponse {
  id: string;
  status: EntryStatus;
  /** Only while `pending`. */
  queue?: QueueInfo;
}

/**
 * The answer to cancelling a service. `status` is the record's status after the cancel: `cancelled`,
 * or the terminal status a service that had already ended keeps (cancelling never rewrites it).
 */
export interface CancelResponse {
  success: true;
  message: string;
  service_id: string;
  status: ServiceStatus;
}

export interface PromptRequest {
  prompt: string;
  max_tokens?: number;
  temperature?: number;
  model?: string;
  top_p?: number;
  stop?: string[];
  presence_penalty?: number;
  frequency_penalty?: number;
  seed?: number;
  /** Answer with the workload's chat (or completions) SSE chunks, unchanged. */
  stream?: boolean;
}

export interface PromptUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface PromptResponse {
  success: true;
  text: string;
  response: string;
  usage: PromptUsage;
  service_id: string;
  endpoint_used: 'chat' | 'completions';
  model: string;
}

/** One recipe of `GET /recipes`. */
export interface RecipeSummary {
  name: string;
  category: string;
  path: string;
  description: string;
  version: string;
  resources: Record<string, unknown>;
  ports: number[];
  gpu_per_replica?: number;
  base_port?: number;
}

/** `GET /recipes/{name}`: the summary, the environment defaults and the documented parameters by name. */
export interface RecipeDetail extends RecipeSummary {
  environment: Record<string, string>;
  parameters: Record<string, unknown>;
}

/** Error envelope of the data plane: the contract keeps `success` on errors. */
export interface DataPlaneError {
  success: false;
  error: string;
  message: string;
  status?: ServiceStatus;
  attempted_replicas?: string[];
  /** On a 503 for a pending service: its record's queue. */
  queue?: QueueInfo;
}

/** Error body of every 4xx/5xx of the control plane. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  request_id?: string;
}
