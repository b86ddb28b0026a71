/**
 * Context lengths of the models the product's examples, tests and catalogue name, as vLLM v0.11 derives them
 * (vllm/config/model.py, _get_and_verify_max_len): the first of max_position_embeddings, n_positions, ... in the
 * checkpoint's config.json, or the max_seq_length of a sentence-transformers checkpoint's
 * sentence_bert_config.json, which wins for the embedding models that ship one. The simulator has no
 * checkpoint, so without this table it would accept a --max-model-len that real vLLM refuses at start-up (the
 * bug of issue 11: the recipes passed 4096 to gpt2, whose limit is 1024).
 */
export interface ModelContextLength {
  /** The Hub id; the bare name after the organisation is matched too (`gpt2`, `openai-community/gpt2`). */
  model: string;
  tokens: number;
  /**
   * The config.json key vLLM names in its refusal; it names that key even where sentence_bert_config.json's
   * max_seq_length set the number.
   */
  key: string;
}

export const KNOWN_CONTEXT_LENGTHS: readonly ModelContextLength[] = [
  { model: 'openai-community/gpt2', tokens: 1024, key: 'n_positions' },
  { model: 'openai-community/gpt2-medium', tokens: 1024, key: 'n_positions' },
  { model: 'openai-community/gpt2-large', tokens: 1024, key: 'n_positions' },
  { model: 'distilbert/distilgpt2', tokens: 1024, key: 'n_positions' },
  { model: 'facebook/opt-125m', tokens: 2048, key: 'max_position_embeddings' },
  { model: 'TinyLlama/TinyLlama-1.1B-Chat-v1.0', tokens: 2048, key: 'max_position_embeddings' },
  { model: 'microsoft/Phi-3-mini-4k-instruct', tokens: 4096, key: 'max_position_embeddings' },
  { model: 'Qwen/Qwen2.5-0.5B-Instruct', tokens: 32768, key: 'max_position_embeddings' },
  { model: 'Qwen/Qwen2.5-7B-Instruct', tokens: 32768, key: 'max_position_embeddings' },
  { model: 'Qwen/Qwen2.5-72B-Instruct', tokens: 32768, key: 'max_position_embeddings' },
  { model: 'mistralai/Mistral-7B-Instruct-v0.3', tokens: 32768, key: 'max_position_embeddings' },
  { model: 'meta-llama/Llama-3.1-8B-Instruct', tokens: 131072, key: 'max_position_embeddings' },
  { model: 'meta-llama/Llama-3.2-1B-Instruct', tokens: 131072, key: 'max_position_embeddings' },
  { model: 'meta-llama/Llama-3.3-70B-Instruct', tokens: 131072, key: 'max_position_embeddings' },
  // Embedding models: mostly BERT-style, 512 positions.
  { model: 'BAAI/bge-small-en-v1.5', tokens: 512, key: 'max_position_embeddings' },
  { model: 'BAAI/bge-base-en-v1.5', tokens: 512, key: 'max_position_embeddings' },
  { model: 'BAAI/bge-large-en-v1.5', tokens: 512, key: 'max_position_embeddings' },
  { model: 'BAAI/bge-m3', tokens: 8192, key: 'max_position_embeddings' },
  { model: 'intfloat/e5-small-v2', tokens: 512, key: 'max_position_embeddings' },
  { model: 'intfloat/e5-base-v2', tokens: 512, key: 'max_position_embeddings' },
  { model: 'intfloat/e5-large-v2', tokens: 512, key: 'max_position_embeddings' },
  { model: 'intfloat/multilingual-e5-large', tokens: 512, key: 'max_position_embeddings' },
  { model: 'thenlper/gte-small', tokens: 512, key: 'max_position_embeddings' },
  { model: 'thenlper/gte-base', tokens: 512, key: 'max_position_embeddings' },
  { model: 'sentence-transformers/all-MiniLM-L6-v2', tokens: 256, key: 'max_position_embeddings' },
  { model: 'nomic-ai/nomic-embed-text-v1.5', tokens: 8192, key: 'n_positions' },
];

/** What the simulator assumes for a model it does not know, where vLLM would read the checkpoint. */
export const UNKNOWN_MODEL_CONTEXT_LENGTH = 4096;

/** The known limit of `model` (a Hub id or its bare name, any case), or undefined. */
export function knownContextLength(model: string): ModelContextLength | undefined {
  const wanted = model.trim().toLowerCase();
  return KNOWN_CONTEXT_LENGTHS.find((entry) => {
    const id = entry.model.toLowerCase();
    return id === wanted || id.slice(id.indexOf('/') + 1) === wanted;
  });
}

/** vLLM v0.11's start-up refusal (a pydantic ValidationError around this ValueError), word for word. */
export function maxModelLenRefusal(requested: number, known: ModelContextLength): string {
  return (
    `1 validation error for ModelConfig\n  Value error, User-specified max_model_len (${requested}) is greater ` +
    `than the derived max_model_len (${known.key}=${known.tokens} or model_max_length=None in model's ` +
    `config.json). To allow overriding this maximum, set the env var VLLM_ALLOW_LONG_MAX_MODEL_LEN=1. ` +
    `VLLM_ALLOW_LONG_MAX_MODEL_LEN must be used with extreme caution. If the model uses relative position ` +
    `encoding (RoPE), positions exceeding derived_max_model_len lead to nan. If the model uses absolute ` +
    `position encoding, positions exceeding derived_max_model_len will cause a CUDA array out-of-bounds error.`
  );
}
