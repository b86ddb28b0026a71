import { z } from 'zod';
import type { ServiceStatus } from './status';

/**
 * The `config` of a create request as the user sent it (after shape validation): counts may be
 * numbers or digit strings, `gpu` may be null. The recipes library coerces it; records keep it as sent.
 */
export interface ServiceConfig {
  environment?: Record<string, string | number | boolean>;
  resources?: ResourceRequest;
  gpu_per_replica?: number | string;
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
}) satisfies z.ZodType<ServiceConfig>;

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
