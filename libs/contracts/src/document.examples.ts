/**
 * The create requests of the user's API document (server-api.md), in its order. One copy serves
 * the gateway's Swagger examples ("Try it out" starts from what the document promises) and the
 * tests that run the document's examples.
 */
export const DOCUMENT_CREATE_REQUESTS = {
  default_model: {
    summary: 'vLLM, default model (Qwen/Qwen2.5-0.5B-Instruct) on one node',
    body: { recipe_name: 'inference/vllm-single-node' },
  },
  replica_group: {
    summary: 'Replica group: 4 GPUs, 1 per replica → 4 replicas on ports 8001-8004',
    body: { recipe_name: 'inference/vllm-replicas' },
  },
  custom_replicas: {
    summary: 'Replica group: 4 GPUs, 2 per replica → 2 replicas per node',
    body: {
      recipe_name: 'inference/vllm-replicas',
      config: { resources: { gpu: '4' }, gpu_per_replica: 2 },
    },
  },
  custom_model: {
    summary: 'vLLM with another Hugging Face model',
    body: { recipe_name: 'inference/vllm-single-node', config: { environment: { VLLM_MODEL: 'gpt2' } } },
  },
  custom_model_and_resources: {
    summary: 'Model and resources',
    body: {
      recipe_name: 'inference/vllm-single-node',
      config: {
        environment: { VLLM_MODEL: 'gpt2' },
        resources: { cpu: '8', memory: '64G', time_limit: 120, gpu: '4' },
      },
    },
  },
  all_options: {
    summary: 'Every environment variable and resource setting',
    body: {
      recipe_name: 'inference/vllm-single-node',
      config: {
        environment: {
          VLLM_MODEL: 'gpt2',
          VLLM_HOST: '0.0.0.0',
          VLLM_PORT: '8001',
          VLLM_MAX_MODEL_LEN: '2048',
          VLLM_TENSOR_PARALLEL_SIZE: '4',
          VLLM_GPU_MEMORY_UTILIZATION: '0.9',
          CUDA_VISIBLE_DEVICES: '0',
        },
        resources: { cpu: '2', memory: '32G', time_limit: 15, gpu: '4' },
      },
    },
  },
  cpu_only: {
    summary: 'CPU only (gpu: null)',
    body: {
      recipe_name: 'inference/vllm-single-node',
      config: {
        environment: { VLLM_MODEL: 'gpt2' },
        resources: { nodes: 1, cpu: '4', memory: '16G', gpu: null },
      },
    },
  },
} as const satisfies Record<string, { summary: string; body: Record<string, unknown> }>;

/**
 * Examples of the document that real vLLM refuses at start-up, and why: the service is accepted and
 * scheduled as written, then its job fails with vLLM's refusal in the logs. The simulator enforces the
 * same limits, so the tests that run the document's examples expect `failed` for these, not `running`.
 */
export const DOCUMENT_EXAMPLES_VLLM_REFUSES: Partial<Record<keyof typeof DOCUMENT_CREATE_REQUESTS, string>> =
  {
    all_options: "VLLM_MAX_MODEL_LEN=2048 exceeds gpt2's context length of 1024 tokens (max_model_len)",
  };

/**
 * What the example clients of the document's own system send: the flat config shortcuts
 * (CONTRACT.md "Requests"), answered 200. Swagger shows them beside the document's requests, and
 * the e2e suite walks their flows with exactly these bodies.
 */
export const DOCUMENT_CLIENT_CREATE_REQUESTS = {
  client_qdrant: {
    summary: "Qdrant as the document's clients ask for it (flat config shortcuts)",
    body: { recipe_name: 'vector-db/qdrant', config: { nodes: 1, memory: '16G' } },
  },
  client_vllm: {
    summary: "vLLM as the document's clients ask for it (flat config shortcuts)",
    body: {
      recipe_name: 'inference/vllm-single-node',
      config: {
        model: 'Qwen/Qwen2.5-0.5B-Instruct',
        nodes: 1,
        cpu: 2,
        memory: '16G',
        gpu: 1,
        time_limit: 30,
        max_model_len: 2048,
        gpu_memory_utilization: 0.8,
      },
    },
  },
} as const satisfies Record<string, { summary: string; body: Record<string, unknown> }>;
