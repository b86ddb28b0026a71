import { buildJobEnvironment } from './job-environment';

const config = {
  PATH: '/usr/bin:/bin',
  HOME: '/home/u',
  SIMULATORS_DIR: '/opt/sims',
  ENDPOINT_HOST: undefined,
};

describe('buildJobEnvironment', () => {
  it('passes workload values through unchanged, including shell metacharacters', () => {
    const hostile = `a'b"c $(touch /tmp/x) \`id\`; echo\nnext`;
    const env = buildJobEnvironment({ VLLM_MODEL: hostile }, config);
    expect(env.VLLM_MODEL).toBe(hostile);
  });

  it('gives the job a PATH, HOME and the simulators directory but nothing of the worker environment', () => {
    const env = buildJobEnvironment({}, config);
    expect(env).toEqual({
      PATH: '/usr/bin:/bin',
      HOME: '/home/u',
      LANG: 'C.UTF-8',
      AIPLANE_SIMULATORS_DIR: '/opt/sims',
    });
  });

  it('sets the endpoint host only when configured', () => {
    expect(buildJobEnvironment({}, { ...config, ENDPOINT_HOST: '127.0.0.1' }).AIPLANE_ENDPOINT_HOST).toBe(
      '127.0.0.1',
    );
  });

  it('keeps its own simulator directory even if a workload names the same variable', () => {
    expect(buildJobEnvironment({ AIPLANE_SIMULATORS_DIR: '/evil' }, config).AIPLANE_SIMULATORS_DIR).toBe(
      '/opt/sims',
    );
  });
});
