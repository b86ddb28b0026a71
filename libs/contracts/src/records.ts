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
}

export interface ServiceStatusResponse {
  id: string;
  status: ServiceStatus;
}

export interface CancelResponse {
  success: true;
  message: string;
  service_id: string;
  status: 'cancelled';
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

/** `GET /vllm/{id}/models`: the ids the document's clients index, and the workload's own objects. */
export interface ServiceModels {
  success: true;
  models: string[];
  /** The OpenAI model objects of the workload's `/v1/models`, as it sent them. */
  data: unknown[];
  service_id: string;
  endpoint: string;
}

/** Error envelope of the data plane: the contract keeps `success` on errors. */
export interface DataPlaneError {
  success: false;
  error: string;
  message: string;
  status?: ServiceStatus;
  attempted_replicas?: string[];
}

/** Error body of every 4xx/5xx of the control plane. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  request_id?: string;
}
