import { buildBenchConfig, buildFrontBenchConfig, DEFAULTS, parseArgs, parseFrontArgs } from './bench.config';

describe('bench arguments', () => {
  it('has defaults for a plain run', () => {
    expect(parseArgs([], {})).toMatchObject({
      n: 300,
      warmup: 30,
      streamN: 100,
      rounds: 1,
      duration: 5,
      wrkWarmup: 1,
      tokenLatencyMs: 10,
      concurrentStreams: 64,
      concurrentTokens: 256,
      ssh: true,
      nginx: true,
      quick: false,
      help: false,
    });
  });

  it('takes --name value, --name=value and the switches, the command line over the environment', () => {
    expect(
      parseArgs(['--n', '50', '--warmup=5', '--no-ssh', '--no-nginx', '--rounds', '3'], {
        BENCH_N: '999',
        BENCH_STREAM_N: '7',
      }),
    ).toMatchObject({ n: 50, warmup: 5, streamN: 7, ssh: false, nginx: false, rounds: 3 });
  });

  it('makes --quick a short run that keeps the 64 x 256 streams, explicit values still winning', () => {
    const quick = parseArgs(['--quick'], {});
    expect(quick).toMatchObject({ quick: true, n: 40, duration: 1, wrkWarmup: 0, gapN: 2 });
    expect(parseArgs(['--quick', '--wrk-warmup', '2'], {}).wrkWarmup).toBe(2);
    expect(quick.concurrentStreams).toBe(DEFAULTS.concurrentStreams);
    expect(quick.concurrentTokens).toBe(DEFAULTS.concurrentTokens);
    expect(parseArgs(['--quick', '--n', '100'], {}).n).toBe(100);
    expect(parseArgs(['--quick'], { BENCH_N: '70' }).n).toBe(70);
  });

  it('allows --duration 0 (no throughput) but not zero rounds', () => {
    expect(parseArgs(['--duration', '0'], {}).duration).toBe(0);
    expect(() => parseArgs(['--rounds', '0'], {})).toThrow(/--rounds/);
  });

  it('refuses what it does not know instead of ignoring it', () => {
    expect(() => parseArgs(['--nn', '5'], {})).toThrow(/unknown argument --nn/);
    expect(() => parseArgs(['--n'], {})).toThrow(/needs a value/);
    expect(() => parseArgs(['--n', 'lots'], {})).toThrow(/--n/);
    expect(() => parseArgs(['--n', '0'], {})).toThrow(/--n/);
    expect(() => parseArgs(['--quick=yes'], {})).toThrow(/unknown argument/);
  });

  it('reports missing SSH infrastructure instead of failing, and keeps to its own ports', () => {
    const config = buildBenchConfig([], { AIPLANE_INFRA_DIR: '/nonexistent' }, '/repo');
    expect(config.sshInfra).toEqual({ missing: expect.stringContaining('/nonexistent/env') });
    expect(config.outFile).toBe('/repo/tmp/bench/data-plane.json');
    const ports = Object.values(config.ports).sort();
    expect(ports).toEqual([18900, 18901, 18902, 18903, 18904, 18905]);
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
