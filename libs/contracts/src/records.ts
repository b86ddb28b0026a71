import type { ServiceStatus } from './status';

/** What the user sent as `config`, after validation; numbers arrive coerced. */
export interface ServiceConfig {
  environment?: Record<string, string>;
  resources?: ResourceRequest;
  gpu_per_replica?: number;
}

export interface ResourceRequest {
  nodes?: number;
  cpu?: number;
  memory?: string;
  time_limit?: number;
  /** 0 means CPU-only (the document's `"gpu": null`). */
  gpu?: number;
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
