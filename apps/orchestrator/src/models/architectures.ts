/**
 * Model architectures (the `architectures[0]` of a model's config.json) that vLLM serves natively,
 * curated from vLLM's model registry. Kept static on purpose: the list answers "will vLLM load
 * this?" without a network call, and a stale entry costs less than a Hub outage breaking the page.
 */
export type ArchitectureTask = 'text_generation' | 'multimodal' | 'embedding';

export interface ArchitectureEntry {
  architecture: string;
  task: ArchitectureTask;
  examples: readonly string[];
}

const entry = (architecture: string, task: ArchitectureTask, ...examples: string[]): ArchitectureEntry => ({
  architecture,
  task,
  examples,
});

export const ARCHITECTURES: readonly ArchitectureEntry[] = [
  // Decoder-only text generation
  entry('AquilaForCausalLM', 'text_generation', 'BAAI/AquilaChat2-7B'),
  entry('ArcticForCausalLM', 'text_generation', 'Snowflake/snowflake-arctic-instruct'),
  entry('BaichuanForCausalLM', 'text_generation', 'baichuan-inc/Baichuan2-13B-Chat'),
  entry('BambaForCausalLM', 'text_generation', 'ibm-ai-platform/Bamba-9B'),
  entry('BloomForCausalLM', 'text_generation', 'bigscience/bloom-560m', 'bigscience/bloomz-7b1'),
  entry('ChatGLMModel', 'text_generation', 'THUDM/chatglm3-6b'),
  entry('CohereForCausalLM', 'text_generation', 'CohereForAI/c4ai-command-r-v01'),
  entry('Cohere2ForCausalLM', 'text_generation', 'CohereForAI/c4ai-command-r7b-12-2024'),
  entry('DbrxForCausalLM', 'text_generation', 'databricks/dbrx-instruct'),
  entry('DeciLMForCausalLM', 'text_generation', 'nvidia/Llama-3_3-Nemotron-Super-49B-v1'),
  entry('DeepseekForCausalLM', 'text_generation', 'deepseek-ai/deepseek-moe-16b-chat'),
  entry('DeepseekV2ForCausalLM', 'text_generation', 'deepseek-ai/DeepSeek-V2-Lite-Chat'),
  entry('DeepseekV3ForCausalLM', 'text_generation', 'deepseek-ai/DeepSeek-V3', 'deepseek-ai/DeepSeek-R1'),
  entry('Ernie4_5ForCausalLM', 'text_generation', 'baidu/ERNIE-4.5-0.3B-PT'),
  entry('ExaoneForCausalLM', 'text_generation', 'LGAI-EXAONE/EXAONE-3.5-7.8B-Instruct'),
  entry('FalconForCausalLM', 'text_generation', 'tiiuae/falcon-7b-instruct'),
  entry('FalconMambaForCausalLM', 'text_generation', 'tiiuae/falcon-mamba-7b-instruct'),
  entry('GemmaForCausalLM', 'text_generation', 'google/gemma-2b-it', 'google/gemma-7b-it'),
  entry('Gemma2ForCausalLM', 'text_generation', 'google/gemma-2-9b-it'),
  entry('Gemma3ForCausalLM', 'text_generation', 'google/gemma-3-1b-it'),
  entry('GlmForCausalLM', 'text_generation', 'THUDM/glm-4-9b-chat-hf'),
  entry('Glm4ForCausalLM', 'text_generation', 'THUDM/GLM-4-9B-0414'),
  entry('GPT2LMHeadModel', 'text_generation', 'openai-community/gpt2', 'distilbert/distilgpt2'),
  entry('GPTBigCodeForCausalLM', 'text_generation', 'bigcode/starcoder', 'bigcode/gpt_bigcode-santacoder'),
  entry('GPTJForCausalLM', 'text_generation', 'EleutherAI/gpt-j-6b'),
  entry('GPTNeoXForCausalLM', 'text_generation', 'EleutherAI/pythia-1.4b', 'EleutherAI/gpt-neox-20b'),
  entry('GptOssForCausalLM', 'text_generation', 'openai/gpt-oss-20b', 'openai/gpt-oss-120b'),
  entry('GraniteForCausalLM', 'text_generation', 'ibm-granite/granite-3.3-8b-instruct'),
  entry('GraniteMoeForCausalLM', 'text_generation', 'ibm-granite/granite-3.1-3b-a800m-instruct'),
  entry('InternLMForCausalLM', 'text_generation', 'internlm/internlm-chat-7b'),
  entry('InternLM2ForCausalLM', 'text_generation', 'internlm/internlm2_5-7b-chat'),
  entry('InternLM3ForCausalLM', 'text_generation', 'internlm/internlm3-8b-instruct'),
  entry('JAISLMHeadModel', 'text_generation', 'inceptionai/jais-13b-chat'),
  entry('JambaForCausalLM', 'text_generation', 'ai21labs/AI21-Jamba-1.5-Mini'),
  entry(
    'LlamaForCausalLM',
    'text_generation',
    'meta-llama/Llama-3.1-8B-Instruct',
    'meta-llama/Llama-3.2-1B-Instruct',
    'TinyLlama/TinyLlama-1.1B-Chat-v1.0',
  ),
  entry('MambaForCausalLM', 'text_generation', 'state-spaces/mamba-130m-hf'),
  entry('Mamba2ForCausalLM', 'text_generation', 'mistralai/Mamba-Codestral-7B-v0.1'),
  entry('MiniCPMForCausalLM', 'text_generation', 'openbmb/MiniCPM-2B-sft-bf16'),
  entry('MiniCPM3ForCausalLM', 'text_generation', 'openbmb/MiniCPM3-4B'),
  entry('MistralForCausalLM', 'text_generation', 'mistralai/Mistral-7B-Instruct-v0.3'),
  entry('MixtralForCausalLM', 'text_generation', 'mistralai/Mixtral-8x7B-Instruct-v0.1'),
  entry('MPTForCausalLM', 'text_generation', 'mosaicml/mpt-7b-instruct'),
  entry('NemotronForCausalLM', 'text_generation', 'nvidia/Minitron-8B-Base'),
  entry('OlmoForCausalLM', 'text_generation', 'allenai/OLMo-1B-hf'),
  entry('Olmo2ForCausalLM', 'text_generation', 'allenai/OLMo-2-1124-7B-Instruct'),
  entry('OlmoeForCausalLM', 'text_generation', 'allenai/OLMoE-1B-7B-0924-Instruct'),
  entry('OPTForCausalLM', 'text_generation', 'facebook/opt-125m', 'facebook/opt-6.7b'),
  entry('OrionForCausalLM', 'text_generation', 'OrionStarAI/Orion-14B-Chat'),
  entry('PersimmonForCausalLM', 'text_generation', 'adept/persimmon-8b-chat'),
  entry('PhiForCausalLM', 'text_generation', 'microsoft/phi-2'),
  entry('Phi3ForCausalLM', 'text_generation', 'microsoft/Phi-3-mini-4k-instruct', 'microsoft/phi-4'),
  entry('PhiMoEForCausalLM', 'text_generation', 'microsoft/Phi-3.5-MoE-instruct'),
  entry('QWenLMHeadModel', 'text_generation', 'Qwen/Qwen-7B-Chat'),
  entry(
    'Qwen2ForCausalLM',
    'text_generation',
    'Qwen/Qwen2.5-0.5B-Instruct',
    'Qwen/Qwen2.5-7B-Instruct',
    'Qwen/Qwen2.5-72B-Instruct',
  ),
  entry('Qwen2MoeForCausalLM', 'text_generation', 'Qwen/Qwen1.5-MoE-A2.7B-Chat'),
  entry('Qwen3ForCausalLM', 'text_generation', 'Qwen/Qwen3-8B', 'Qwen/Qwen3-0.6B'),
  entry('Qwen3MoeForCausalLM', 'text_generation', 'Qwen/Qwen3-30B-A3B'),
  entry('SolarForCausalLM', 'text_generation', 'upstage/solar-pro-preview-instruct'),
  entry('StableLmForCausalLM', 'text_generation', 'stabilityai/stablelm-2-1_6b-chat'),
  entry('Starcoder2ForCausalLM', 'text_generation', 'bigcode/starcoder2-7b'),
  entry('TeleChat2ForCausalLM', 'text_generation', 'Tele-AI/TeleChat2-3B'),
  entry('XverseForCausalLM', 'text_generation', 'xverse/XVERSE-7B-Chat'),
  entry('Zamba2ForCausalLM', 'text_generation', 'Zyphra/Zamba2-7B-instruct'),
  // Vision-language models (text output)
  entry('ChameleonForConditionalGeneration', 'multimodal', 'facebook/chameleon-7b'),
  entry('Gemma3ForConditionalGeneration', 'multimodal', 'google/gemma-3-4b-it', 'google/gemma-3-27b-it'),
  entry('Idefics3ForConditionalGeneration', 'multimodal', 'HuggingFaceM4/Idefics3-8B-Llama3'),
  entry('InternVLChatModel', 'multimodal', 'OpenGVLab/InternVL2_5-4B'),
  entry('Llama4ForConditionalGeneration', 'multimodal', 'meta-llama/Llama-4-Scout-17B-16E-Instruct'),
  entry('LlavaForConditionalGeneration', 'multimodal', 'llava-hf/llava-1.5-7b-hf'),
  entry('LlavaNextForConditionalGeneration', 'multimodal', 'llava-hf/llava-v1.6-mistral-7b-hf'),
  entry('MiniCPMV', 'multimodal', 'openbmb/MiniCPM-V-2_6'),
  entry('Mistral3ForConditionalGeneration', 'multimodal', 'mistralai/Mistral-Small-3.1-24B-Instruct-2503'),
  entry('MllamaForConditionalGeneration', 'multimodal', 'meta-llama/Llama-3.2-11B-Vision-Instruct'),
  entry('PaliGemmaForConditionalGeneration', 'multimodal', 'google/paligemma-3b-mix-224'),
  entry('Phi3VForCausalLM', 'multimodal', 'microsoft/Phi-3.5-vision-instruct'),
  entry('Qwen2VLForConditionalGeneration', 'multimodal', 'Qwen/Qwen2-VL-7B-Instruct'),
  entry('Qwen2_5_VLForConditionalGeneration', 'multimodal', 'Qwen/Qwen2.5-VL-7B-Instruct'),
  // Embedding models (served with vLLM's pooling runner)
  entry('BertModel', 'embedding', 'BAAI/bge-base-en-v1.5'),
  entry('Gemma2Model', 'embedding', 'BAAI/bge-multilingual-gemma2'),
  entry('MistralModel', 'embedding', 'intfloat/e5-mistral-7b-instruct'),
  entry('NomicBertModel', 'embedding', 'nomic-ai/nomic-embed-text-v1'),
  entry('RobertaModel', 'embedding', 'sentence-transformers/all-roberta-large-v1'),
  entry('XLMRobertaModel', 'embedding', 'BAAI/bge-m3', 'intfloat/multilingual-e5-large'),
];

const BY_NAME = new Map(ARCHITECTURES.map((item) => [item.architecture, item]));
// Users type names by hand; architecture names differ only in case in one pair vLLM treats alike
// (MptForCausalLM / MPTForCausalLM), so a case-insensitive lookup cannot pick a wrong model family.
const BY_LOWER_NAME = new Map(ARCHITECTURES.map((item) => [item.architecture.toLowerCase(), item]));

export function findArchitecture(name: string | null): ArchitectureEntry | undefined {
  if (name === null) return undefined;
  return BY_NAME.get(name) ?? BY_LOWER_NAME.get(name.toLowerCase());
}

export function isVllmCompatible(architecture: string | null): boolean {
  return findArchitecture(architecture) !== undefined;
}

const TASK_TYPES: Readonly<Record<ArchitectureTask, string>> = {
  text_generation: 'text-generation',
  multimodal: 'image-text-to-text',
  embedding: 'feature-extraction',
};

/**
 * What vLLM would do with the model, worded as a Hub pipeline tag. The architecture decides when
 * vLLM knows it (a model card's tag can be wrong); otherwise the Hub's own tag is the best guess.
 */
export function taskTypeOf(architecture: string | null, pipelineTag: string | null): string | null {
  const known = findArchitecture(architecture);
  return known ? TASK_TYPES[known.task] : pipelineTag;
}

export interface AvailableModels {
  supported_architectures: Record<ArchitectureTask, string[]>;
  examples: Record<string, unknown>;
  resource_guidelines: Record<string, unknown>;
}

interface SizeGuideline {
  parameters: string;
  weights_gb_bf16: number;
  gpu_memory_gb: number;
  gpu: number;
  cpu: number;
  memory: string;
  tensor_parallel_size: number;
  examples: string[];
}

// Sized for 40-80 GB data-centre GPUs: bf16 weights take 2 bytes per parameter and vLLM wants
// roughly another 20-50% for the KV cache, activations and CUDA graphs.
const RESOURCE_GUIDELINES: Record<string, SizeGuideline> = {
  '0.5B-1B': {
    parameters: '0.1-1.5 billion',
    weights_gb_bf16: 2,
    gpu_memory_gb: 8,
    gpu: 1,
    cpu: 4,
    memory: '16G',
    tensor_parallel_size: 1,
    examples: ['Qwen/Qwen2.5-0.5B-Instruct', 'openai-community/gpt2', 'TinyLlama/TinyLlama-1.1B-Chat-v1.0'],
  },
  '3B': {
    parameters: '2-4 billion',
    weights_gb_bf16: 7,
    gpu_memory_gb: 16,
    gpu: 1,
    cpu: 4,
    memory: '32G',
    tensor_parallel_size: 1,
    examples: [
      'Qwen/Qwen2.5-3B-Instruct',
      'meta-llama/Llama-3.2-3B-Instruct',
      'microsoft/Phi-3-mini-4k-instruct',
    ],
  },
  '7B': {
    parameters: '6-9 billion',
    weights_gb_bf16: 16,
    gpu_memory_gb: 24,
    gpu: 1,
    cpu: 8,
    memory: '32G',
    tensor_parallel_size: 1,
    examples: [
      'Qwen/Qwen2.5-7B-Instruct',
      'meta-llama/Llama-3.1-8B-Instruct',
      'mistralai/Mistral-7B-Instruct-v0.3',
    ],
  },
  '13B': {
    parameters: '12-15 billion',
    weights_gb_bf16: 30,
    gpu_memory_gb: 40,
    gpu: 1,
    cpu: 8,
    memory: '64G',
    tensor_parallel_size: 1,
    examples: ['Qwen/Qwen2.5-14B-Instruct', 'microsoft/phi-4'],
  },
  '34B': {
    parameters: '27-34 billion',
    weights_gb_bf16: 68,
    gpu_memory_gb: 80,
    gpu: 2,
    cpu: 16,
    memory: '128G',
    tensor_parallel_size: 2,
    examples: ['Qwen/Qwen2.5-32B-Instruct', 'google/gemma-3-27b-it'],
  },
  '70B': {
    parameters: '65-72 billion',
    weights_gb_bf16: 145,
    gpu_memory_gb: 160,
    gpu: 4,
    cpu: 32,
    memory: '256G',
    tensor_parallel_size: 4,
    examples: ['meta-llama/Llama-3.3-70B-Instruct', 'Qwen/Qwen2.5-72B-Instruct'],
  },
};

function buildAvailableModels(): AvailableModels {
  const supported: Record<ArchitectureTask, string[]> = {
    text_generation: [],
    multimodal: [],
    embedding: [],
  };
  const byArchitecture: Record<string, readonly string[]> = {};
  for (const item of ARCHITECTURES) {
    supported[item.task].push(item.architecture);
    byArchitecture[item.architecture] = item.examples;
  }
  return {
    supported_architectures: supported,
    examples: {
      small: ['Qwen/Qwen2.5-0.5B-Instruct', 'openai-community/gpt2', 'meta-llama/Llama-3.2-1B-Instruct'],
      medium: [
        'Qwen/Qwen2.5-7B-Instruct',
        'meta-llama/Llama-3.1-8B-Instruct',
        'mistralai/Mistral-7B-Instruct-v0.3',
      ],
      large: [
        'Qwen/Qwen2.5-72B-Instruct',
        'meta-llama/Llama-3.3-70B-Instruct',
        'mistralai/Mixtral-8x7B-Instruct-v0.1',
      ],
      multimodal: ['Qwen/Qwen2.5-VL-7B-Instruct', 'llava-hf/llava-1.5-7b-hf'],
      embedding: ['BAAI/bge-base-en-v1.5', 'BAAI/bge-m3'],
      by_architecture: byArchitecture,
    },
    resource_guidelines: {
      ...RESOURCE_GUIDELINES,
      rule_of_thumb:
        'GPU memory ≈ 2 bytes per parameter (bf16) plus 20-50% for the KV cache. Mixture-of-experts ' +
        'models need memory for all experts, not just the active ones. Split a model over several GPUs ' +
        'with VLLM_TENSOR_PARALLEL_SIZE equal to resources.gpu.',
    },
  };
}

export const AVAILABLE_MODELS: AvailableModels = buildAvailableModels();
