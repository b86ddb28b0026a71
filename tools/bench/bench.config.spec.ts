import { buildBenchConfig, buildFrontBenchConfig, parseArgs, parseFrontArgs } from './bench.config';

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

describe('front bench arguments', () => {
  it('has defaults for a plain run, on ports 18910–18919 only', () => {
    const config = buildFrontBenchConfig([], {}, '/repo');
    expect(config).toMatchObject({
      n: 1000,
      warmup: 100,
      rounds: 3,
      duration: 5,
      connections: 64,
      capN: 200,
    });
    expect(config.outFile).toBe('/repo/tmp/bench/front.json');
    for (const port of Object.values(config.ports)) {
      expect(port).toBeGreaterThanOrEqual(18910);
      expect(port).toBeLessThanOrEqual(18919);
    }
  });

  it('takes --name value and --name=value, and refuses what it does not know', () => {
    expect(parseFrontArgs(['--n', '50', '--rounds=5', '--cap-n', '10'])).toMatchObject({
      n: 50,
      rounds: 5,
      'cap-n': 10,
    });
    expect(() => parseFrontArgs(['--no-ssh'])).toThrow(/unknown argument --no-ssh/);
    expect(() => parseFrontArgs(['--duration', '0'])).toThrow(/--duration/);
  });
});
