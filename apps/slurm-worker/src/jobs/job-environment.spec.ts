import { replicaApiKey } from '@aiplane/registry';
import { buildJobEnvironment, newApiKey } from './job-environment';

const config = {
  PATH: '/usr/bin:/bin',
  HOME: '/home/u',
  SIMULATORS_DIR: '/opt/sims',
  RUNTIME_DIR: '/opt/aiplane/recipes/runtime',
  ENDPOINT_HOST: undefined,
};

const vllmAuth = { kind: 'vllm', apiKey: 'key-from-the-worker' } as const;

describe('buildJobEnvironment', () => {
  it('passes workload values through unchanged, including shell metacharacters', () => {
    const hostile = `a'b"c $(touch /tmp/x) \`id\`; echo\nnext`;
    const env = buildJobEnvironment({ VLLM_MODEL: hostile }, config, vllmAuth);
    expect(env.VLLM_MODEL).toBe(hostile);
  });

  it('gives the job a PATH, HOME, the simulators and runtime directories and its API key but nothing of the worker environment', () => {
    const env = buildJobEnvironment({}, config, vllmAuth);
    expect(env).toEqual({
      PATH: '/usr/bin:/bin',
      HOME: '/home/u',
      LANG: 'C.UTF-8',
      AIPLANE_SIMULATORS_DIR: '/opt/sims',
      AIPLANE_RUNTIME_DIR: '/opt/aiplane/recipes/runtime',
      VLLM_API_KEY: 'key-from-the-worker',
    });
  });

  it("sets the key under the variable the workload's kind reads", () => {
    const env = buildJobEnvironment({}, config, { kind: 'qdrant', apiKey: 'q-key' });
    expect(env.QDRANT__SERVICE__API_KEY).toBe('q-key');
    expect(env).not.toHaveProperty('VLLM_API_KEY');
  });

  it('sets the endpoint host only when configured', () => {
    expect(
      buildJobEnvironment({}, { ...config, ENDPOINT_HOST: '127.0.0.1' }, vllmAuth).AIPLANE_ENDPOINT_HOST,
    ).toBe('127.0.0.1');
  });

  it('keeps its own simulator and runtime directories even if a workload names the same variables', () => {
    const env = buildJobEnvironment(
      { AIPLANE_SIMULATORS_DIR: '/evil', AIPLANE_RUNTIME_DIR: '/evil' },
      config,
      vllmAuth,
    );
    expect(env.AIPLANE_SIMULATORS_DIR).toBe('/opt/sims');
    expect(env.AIPLANE_RUNTIME_DIR).toBe('/opt/aiplane/recipes/runtime');
  });

  it('keeps its own API key even if a workload names the same variable (set after the user values)', () => {
    expect(buildJobEnvironment({ VLLM_API_KEY: 'chosen' }, config, vllmAuth).VLLM_API_KEY).toBe(
      'key-from-the-worker',
    );
    expect(
      buildJobEnvironment({ QDRANT__SERVICE__API_KEY: 'chosen' }, config, { kind: 'qdrant', apiKey: 'q' })
        .QDRANT__SERVICE__API_KEY,
    ).toBe('q');
  });
});

describe('newApiKey', () => {
  it('is 32 random bytes in base64url: header- and environment-safe, different every time', () => {
    const keys = Array.from({ length: 50 }, () => newApiKey());
    for (const key of keys) expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('buildJobEnvironment, replica keys', () => {
  it("gives a group's node job one key per replica, derived from the job's, none of them the job's", () => {
    const env = buildJobEnvironment({}, config, { ...vllmAuth, replicas: 3 });
    const keys = env.AIPLANE_REPLICA_API_KEYS?.split(',') ?? [];
    expect(keys).toEqual([0, 1, 2].map((index) => replicaApiKey('key-from-the-worker', index)));
    expect(new Set(keys).size).toBe(3);
    expect(keys).not.toContain('key-from-the-worker');
  });

  it('gives a single service none', () => {
    expect(buildJobEnvironment({}, config, vllmAuth)).not.toHaveProperty('AIPLANE_REPLICA_API_KEYS');
  });
});
