import { isSecretName, redactSecrets, redactUrlCredentials } from './secrets';

describe('secrets', () => {
  it.each([
    'HF_TOKEN',
    'hf_token',
    'GITHUB_TOKEN',
    'HUGGING_FACE_HUB_TOKEN',
    'TOKEN',
    'WANDB_TOKEN_FILE',
    'QDRANT_API_KEY',
    'APIKEY',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET',
    'AWS_SECRET_ACCESS_KEY',
    'CLIENT_SECRETS',
    'DB_PASSWORD',
    'PASSWORD_FILE',
    'DB_PASS',
    'SMTP_PASSWD',
    'GOOGLE_APPLICATION_CREDENTIALS',
    'AZURE_CREDENTIAL',
  ])('%s is secret', (name) => {
    expect(isSecretName(name)).toBe(true);
  });

  it.each([
    'VLLM_MODEL',
    'TOKENIZER',
    'VLLM_TOKENIZER_MODE',
    'VLLM_MAX_NUM_BATCHED_TOKENS',
    'KEYBOARD',
    'VLLM_MAX_MODEL_LEN',
    'BYPASS_CACHE',
    'PWD',
  ])('%s is not secret', (name) => {
    expect(isSecretName(name)).toBe(false);
  });

  it('replaces secret values at any depth and leaves everything else as sent', () => {
    const config = {
      environment: { VLLM_MODEL: 'gpt2', HF_TOKEN: 'hf_abc', MAX: 4, DB_PASS: 'p', S3_CREDENTIALS: 'c' },
      resources: { cpu: '8', gpu: null },
    };
    expect(redactSecrets(config)).toEqual({
      environment: { VLLM_MODEL: 'gpt2', HF_TOKEN: '***', MAX: 4, DB_PASS: '***', S3_CREDENTIALS: '***' },
      resources: { cpu: '8', gpu: null },
    });
    expect(config.environment.HF_TOKEN).toBe('hf_abc');
  });

  it('replaces the password of user:password@ URLs in any value, and keeps the rest of the URL', () => {
    const config = {
      environment: {
        HF_ENDPOINT: 'https://alice:s3cr3t@mirror.example.org/hf',
        PIP_INDEX_URL: 'see https://u:p%40ss@pypi.example.org/simple and http://x:y@h:80',
        GIT_URL: 'ssh://git@example.org/repo.git',
      },
    };
    expect(redactSecrets(config).environment).toEqual({
      HF_ENDPOINT: 'https://alice:***@mirror.example.org/hf',
      PIP_INDEX_URL: 'see https://u:***@pypi.example.org/simple and http://x:***@h:80',
      GIT_URL: 'ssh://git@example.org/repo.git',
    });
    expect(redactUrlCredentials('redis://:hunter2@127.0.0.1:6379/0')).toBe('redis://:***@127.0.0.1:6379/0');
  });
});
