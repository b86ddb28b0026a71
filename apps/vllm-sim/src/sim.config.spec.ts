import { DEFAULT_MODEL, hasChatTemplate, loadSimConfig, SimConfigError } from './sim.config';

describe('loadSimConfig', () => {
  it('uses vLLM-like defaults for an empty environment', () => {
    expect(loadSimConfig({})).toEqual({
      model: DEFAULT_MODEL,
      servedModelNames: [DEFAULT_MODEL],
      host: '0.0.0.0',
      port: 8000,
      uds: undefined,
      // The default model's own limit (Qwen2.5's max_position_embeddings).
      maxModelLen: 32768,
      gpuMemoryUtilization: 0.9,
      apiKey: undefined,
      startupDelayMs: 0,
      ttftMs: 0,
      tokenLatencyMs: 0,
      failRate: 0,
      chatTemplate: 'auto',
      maxNumSeqs: 256,
      version: '0.11.0',
      runner: 'generate',
      embeddingDimension: 768,
    });
  });

  it('reads every variable', () => {
    const config = loadSimConfig({
      VLLM_MODEL: 'meta-llama/Llama-3.1-8B-Instruct',
      VLLM_HOST: '127.0.0.1',
      VLLM_PORT: '8123',
      VLLM_UDS: '/tmp/aiplane.x/vllm.sock',
      VLLM_MAX_MODEL_LEN: '8192',
      VLLM_GPU_MEMORY_UTILIZATION: '0.5',
      VLLM_API_KEY: 'secret',
      VLLM_SERVED_MODEL_NAME: 'llama',
      SIM_STARTUP_DELAY_MS: '2000',
      SIM_TTFT_MS: '50',
      SIM_TOKEN_LATENCY_MS: '5',
      SIM_FAIL_RATE: '0.25',
      SIM_CHAT_TEMPLATE: 'FALSE',
      SIM_MAX_NUM_SEQS: '4',
      SIM_VLLM_VERSION: '0.9.0',
    });
    expect(config).toEqual({
      model: 'meta-llama/Llama-3.1-8B-Instruct',
      servedModelNames: ['llama'],
      host: '127.0.0.1',
      port: 8123,
      uds: '/tmp/aiplane.x/vllm.sock',
      maxModelLen: 8192,
      gpuMemoryUtilization: 0.5,
      apiKey: 'secret',
      startupDelayMs: 2000,
      ttftMs: 50,
      tokenLatencyMs: 5,
      failRate: 0.25,
      chatTemplate: 'false',
      maxNumSeqs: 4,
      version: '0.9.0',
      runner: 'generate',
      embeddingDimension: 768,
    });
  });

  it('treats blank variables as unset', () => {
    const config = loadSimConfig({
      VLLM_PORT: '',
      VLLM_API_KEY: '  ',
      VLLM_SERVED_MODEL_NAME: '',
      SIM_CHAT_TEMPLATE: '',
    });
    expect(config.port).toBe(8000);
    expect(config.apiKey).toBeUndefined();
    expect(config.servedModelNames).toEqual([DEFAULT_MODEL]);
    expect(config.chatTemplate).toBe('auto');
  });

  it('splits several served model names like --served-model-name does', () => {
    expect(loadSimConfig({ VLLM_SERVED_MODEL_NAME: 'qwen  qwen-small' }).servedModelNames).toEqual([
      'qwen',
      'qwen-small',
    ]);
  });

  it.each([
    ['VLLM_PORT', 'abc'],
    ['VLLM_PORT', '70000'],
    ['VLLM_PORT', '80.5'],
    ['VLLM_MAX_MODEL_LEN', '0'],
    ['SIM_TTFT_MS', '-1'],
    ['SIM_FAIL_RATE', '1.5'],
    ['SIM_FAIL_RATE', 'often'],
    ['SIM_CHAT_TEMPLATE', 'maybe'],
    ['SIM_MAX_NUM_SEQS', '0'],
    ['VLLM_UDS', 'relative/vllm.sock'],
    ['VLLM_UDS', `/${'d'.repeat(107)}`],
  ])('rejects %s=%s with a message naming the variable', (name, value) => {
    let caught: unknown;
    try {
      loadSimConfig({ [name]: value });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SimConfigError);
    const error = caught as SimConfigError;
    expect(error.code).toBe('SIM_CONFIG_INVALID');
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toContain(`${name}=${JSON.stringify(value)}`);
    expect(error.message).toContain(name);
  });

  it.each([
    ['BAAI/bge-small-en-v1.5', 384],
    ['BAAI/bge-m3', 1024],
    ['intfloat/multilingual-e5-large', 1024],
    ['intfloat/e5-base-v2', 768],
    ['sentence-transformers/all-MiniLM-L6-v2', 384],
    ['nomic-ai/nomic-embed-text-v1.5', 768],
    ['thenlper/gte-small', 384],
    ['Alibaba-NLP/gte-Qwen2-1.5B-instruct', 1536],
  ])('serves %s with the pooling runner, %i dimensions', (model, dimension) => {
    expect(loadSimConfig({ VLLM_MODEL: model })).toMatchObject({
      runner: 'pooling',
      embeddingDimension: dimension,
    });
  });

  it('takes the embedding dimension from SIM_EMBEDDING_DIM', () => {
    expect(
      loadSimConfig({ VLLM_MODEL: 'BAAI/bge-small-en-v1.5', SIM_EMBEDDING_DIM: '16' }).embeddingDimension,
    ).toBe(16);
    expect(() => loadSimConfig({ SIM_EMBEDDING_DIM: '0' })).toThrow(SimConfigError);
  });

  it.each(['Qwen/Qwen2.5-0.5B-Instruct', 'meta-llama/Llama-3.1-8B-Instruct', 'openai-community/gpt2'])(
    'serves %s with the generate runner',
    (model) => {
      expect(loadSimConfig({ VLLM_MODEL: model }).runner).toBe('generate');
    },
  );

  it('reports all problems at once', () => {
    expect(() => loadSimConfig({ VLLM_PORT: 'x', SIM_FAIL_RATE: '2' })).toThrow(
      /VLLM_PORT[\s\S]*SIM_FAIL_RATE/,
    );
  });
});

describe('hasChatTemplate', () => {
  it.each([
    ['Qwen/Qwen2.5-0.5B-Instruct', true],
    ['meta-llama/Llama-3.1-8B-Instruct', true],
    ['openai-community/gpt2', false],
    ['distilgpt2', false],
    ['facebook/opt-125m', false],
    ['bigscience/bloom-560m', false],
  ])('auto-detects %s -> %s', (model, expected) => {
    expect(hasChatTemplate({ model, chatTemplate: 'auto' })).toBe(expected);
  });

  it('can be forced either way', () => {
    expect(hasChatTemplate({ model: 'gpt2', chatTemplate: 'true' })).toBe(true);
    expect(hasChatTemplate({ model: DEFAULT_MODEL, chatTemplate: 'false' })).toBe(false);
  });
});
