/** Shapes of the model catalogue routes (`/api/v1/vllm/...`): what vLLM serves, and Hugging Face lookups. */

/** `GET /vllm/{id}/models`: the ids the document's clients index, and the workload's own objects. */
export interface VllmModelsResponse {
  success: true;
  /** The ids of the models the service serves. */
  models: string[];
  /** The OpenAI model objects of the workload's `/v1/models`, as it sent them. */
  data: unknown[];
  service_id: string;
  endpoint: string;
}

export interface AvailableModelsResponse {
  supported_architectures: Record<string, unknown>;
  examples: Record<string, unknown>;
  resource_guidelines: Record<string, unknown>;
}

export interface ModelSearchItem {
  id: string;
  downloads: number;
  likes: number;
  architecture: string | null;
  vllm_compatible: boolean;
  created_at: string | null;
  tags: string[];
}

export interface ModelSearchResponse {
  models: ModelSearchItem[];
  total: number;
}

export interface ModelInfo {
  id: string;
  architecture: string | null;
  vllm_compatible: boolean;
  task_type: string | null;
  downloads: number;
  likes: number;
  tags: string[];
  size_bytes: number | null;
  size_gb: number | null;
  pipeline_tag: string | null;
  library_name: string | null;
}
