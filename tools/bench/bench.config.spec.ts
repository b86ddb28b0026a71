import { buildBenchConfig, parseArgs } from './bench.config';

describe('bench arguments', () => {
  it('has defaults for a plain run', () => {
    expect(parseArgs([], {})).toMatchObject({ n: 300, warmup: 30, 'stream-n': 100, ssh: true, help: false });
  });

  it('takes --name value, --name=value and --no-ssh, the command line over the environment', () => {
    expect(
      parseArgs(['--n', '50', '--warmup=5', '--no-ssh'], { BENCH_N: '999', BENCH_STREAM_N: '7' }),
    ).toMatchObject({
      n: 50,
      warmup: 5,
      'stream-n': 7,
      ssh: false,
    });
  });

  it('refuses what it does not know instead of ignoring it', () => {
    expect(() => parseArgs(['--nn', '5'], {})).toThrow(/unknown argument --nn/);
    expect(() => parseArgs(['--n'], {})).toThrow(/needs a value/);
    expect(() => parseArgs(['--n', 'lots'], {})).toThrow(/--n/);
    expect(() => parseArgs(['--n', '0'], {})).toThrow(/--n/);
  });

  it('reports missing SSH infrastructure instead of failing', () => {
    const config = buildBenchConfig([], { AIPLANE_INFRA_DIR: '/nonexistent' }, '/repo');
    expect(config.sshInfra).toEqual({ missing: expect.stringContaining('/nonexistent/env') });
    expect(config.outFile).toBe('/repo/tmp/bench/data-plane.json');
  });
});
