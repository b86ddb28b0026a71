import {
  KNOWN_CONTEXT_LENGTHS,
  knownContextLength,
  UNKNOWN_MODEL_CONTEXT_LENGTH,
} from './context-length.rules';
import { loadSimConfig, SimConfigError } from './sim.config';

function startupProblems(env: Record<string, string>): string[] {
  try {
    loadSimConfig(env);
  } catch (error) {
    if (error instanceof SimConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('model context lengths', () => {
  it.each([
    ['gpt2', 1024],
    ['openai-community/gpt2', 1024],
    ['OpenAI-Community/GPT2', 1024],
    ['distilgpt2', 1024],
    ['BAAI/bge-small-en-v1.5', 512],
    ['intfloat/multilingual-e5-large', 512],
    ['sentence-transformers/all-MiniLM-L6-v2', 256],
    ['Qwen/Qwen2.5-0.5B-Instruct', 32768],
  ])('knows %s: %i tokens, and serves that when no length is set', (model, tokens) => {
    expect(knownContextLength(model)?.tokens).toBe(tokens);
    expect(loadSimConfig({ VLLM_MODEL: model }).maxModelLen).toBe(tokens);
  });

  it('lists each model once', () => {
    const ids = KNOWN_CONTEXT_LENGTHS.map((entry) => entry.model.toLowerCase());
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('falls back to a fixed length for a model it does not know, and takes any length for one', () => {
    expect(knownContextLength('example-lab/unknown-1b')).toBeUndefined();
    expect(loadSimConfig({ VLLM_MODEL: 'example-lab/unknown-1b' }).maxModelLen).toBe(
      UNKNOWN_MODEL_CONTEXT_LENGTH,
    );
    expect(
      loadSimConfig({ VLLM_MODEL: 'example-lab/unknown-1b', VLLM_MAX_MODEL_LEN: '999999' }).maxModelLen,
    ).toBe(999999);
  });

  it("refuses to start gpt2 with the 4096 the recipes used to pass, in vLLM's words", () => {
    const problems = startupProblems({ VLLM_MODEL: 'gpt2', VLLM_MAX_MODEL_LEN: '4096' });
    expect(problems).toEqual([
      expect.stringContaining(
        'User-specified max_model_len (4096) is greater than the derived max_model_len (n_positions=1024 or ' +
          "model_max_length=None in model's config.json). To allow overriding this maximum, set the env var " +
          'VLLM_ALLOW_LONG_MAX_MODEL_LEN=1.',
      ),
    ]);
    expect(problems[0]).toMatch(/^VLLM_MAX_MODEL_LEN=4096: 1 validation error for ModelConfig\n/);
  });

  it('refuses a 512-token embedding model anything longer', () => {
    expect(startupProblems({ VLLM_MODEL: 'BAAI/bge-base-en-v1.5', VLLM_MAX_MODEL_LEN: '513' })).toEqual([
      expect.stringContaining(
        'User-specified max_model_len (513) is greater than the derived max_model_len (max_position_embeddings=512',
      ),
    ]);
  });

  it('takes the limit itself or less', () => {
    expect(loadSimConfig({ VLLM_MODEL: 'gpt2', VLLM_MAX_MODEL_LEN: '1024' }).maxModelLen).toBe(1024);
    expect(loadSimConfig({ VLLM_MODEL: 'gpt2', VLLM_MAX_MODEL_LEN: '256' }).maxModelLen).toBe(256);
  });

  it.each(['1', 'true', 'TRUE'])(
    'lets VLLM_ALLOW_LONG_MAX_MODEL_LEN=%s override the limit, as vLLM does',
    (flag) => {
      expect(
        loadSimConfig({ VLLM_MODEL: 'gpt2', VLLM_MAX_MODEL_LEN: '4096', VLLM_ALLOW_LONG_MAX_MODEL_LEN: flag })
          .maxModelLen,
      ).toBe(4096);
    },
  );

  it.each(['0', 'false', 'yes', ''])('does not count VLLM_ALLOW_LONG_MAX_MODEL_LEN=%j as set', (flag) => {
    expect(
      startupProblems({
        VLLM_MODEL: 'gpt2',
        VLLM_MAX_MODEL_LEN: '4096',
        VLLM_ALLOW_LONG_MAX_MODEL_LEN: flag,
      }),
    ).toHaveLength(1);
  });
});
