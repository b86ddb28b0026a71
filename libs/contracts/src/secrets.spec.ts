import { isSecretName, redactSecrets } from './secrets';

describe('secrets', () => {
  it.each([
    'HF_TOKEN',
    'hf_token',
    'GITHUB_TOKEN',
    'QDRANT_API_KEY',
    'AWS_SECRET',
    'DB_PASSWORD',
    'PASSWORD_FILE',
  ])('%s is secret', (name) => {
    expect(isSecretName(name)).toBe(true);
  });

  it.each(['VLLM_MODEL', 'TOKENIZER', 'KEYBOARD', 'VLLM_MAX_MODEL_LEN'])('%s is not secret', (name) => {
    expect(isSecretName(name)).toBe(false);
  });

  it('replaces secret values at any depth and leaves everything else as sent', () => {
    const config = {
      environment: { VLLM_MODEL: 'gpt2', HF_TOKEN: 'hf_abc', MAX: 4 },
      resources: { cpu: '8', gpu: null },
    };
    expect(redactSecrets(config)).toEqual({
      environment: { VLLM_MODEL: 'gpt2', HF_TOKEN: '***', MAX: 4 },
      resources: { cpu: '8', gpu: null },
    });
    expect(config.environment.HF_TOKEN).toBe('hf_abc');
  });
});
