import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';

export class BenchConfigError extends Error {
  readonly code = 'BENCH_CONFIG_INVALID';
}

export interface SshInfra {
  host: string;
  port: number;
  user: string;
  keyPath: string;
  knownHostsPath: string;
}

export interface BenchPorts {
  gateway: number;
  orchestrator: number;
  /** nginx, the peer reverse proxy, in front of the job's front. */
  nginx: number;
  proxy: number;
  sshGateway: number;
  /** The bench's own simulator on TCP: wrk cannot reach the job's simulator on its Unix socket. */
  directSim: number;
}

export interface BenchConfig {
  help: boolean;
  quick: boolean;
  /** Whole measurements (latency, throughput, streaming), one after the other; medians are reported. */
  rounds: number;
  /** Measured prompts per target and round. */
  n: number;
  /** Prompts per target sent before measuring (connection set-up, JIT, the proxy's model cache). */
  warmup: number;
  /** Measured streaming prompts per path (time to first chunk). */
  streamN: number;
  maxTokens: number;
  streamMaxTokens: number;
  /** Seconds of each wrk run; 0 skips the throughput and CPU measurement. */
  duration: number;
  /**
   * Seconds of an unmeasured wrk run just before each measured one, same target and concurrency:
   * every row is measured in its steady state (each hop's pool at its size, JIT and heap warm).
   */
  wrkWarmup: number;
  /** Paced streams per path whose gaps between chunks are measured. */
  gapN: number;
  /** max_tokens of those paced streams. */
  gapTokens: number;
  /** SIM_TOKEN_LATENCY_MS of the paced service. */
  tokenLatencyMs: number;
  /** Concurrent streams through the gateway, and max_tokens of each. */
  concurrentStreams: number;
  concurrentTokens: number;
  ssh: boolean;
  nginx: boolean;
  /** Repository root: dist/ and recipes/ are found from here. */
  root: string;
  outFile: string;
  redisUrl: string;
  /** Base environment of every process started (PATH, HOME). */
  env: Record<string, string>;
  /** What tools/infra/up.sh wrote, or why it is not usable. */
  sshInfra: SshInfra | { missing: string };
  ports: BenchPorts;
}

export const USAGE = `usage: node dist/tools/bench/data-plane.bench.js [options]
  --rounds N               whole measurements, one after the other; medians reported (default 1)
  --quick                  few requests of everything: a check that the bench works (under a minute)
  --n N                    measured prompts per target and round (default 300; quick 40; env BENCH_N)
  --warmup N               warm-up prompts per target (default 30; quick 5; env BENCH_WARMUP)
  --stream-n N             measured streaming prompts per path (default 100; quick 10; env BENCH_STREAM_N)
  --max-tokens N           max_tokens of the latency prompts (default 8)
  --stream-max-tokens N    max_tokens of the time-to-first-chunk prompts (default 64)
  --duration S             seconds of each wrk run, 0 = no throughput (default 5; quick 1)
  --wrk-warmup S           seconds of an unmeasured wrk run before each measured one (default 1; quick 0)
  --gap-n N                paced streams per path for the gaps between chunks (default 10; quick 2)
  --gap-tokens N           max_tokens of those streams (default 64; quick 32)
  --token-latency-ms N     the paced service's SIM_TOKEN_LATENCY_MS (default 10)
  --concurrent-streams N   concurrent streams through the gateway (default 64)
  --concurrent-tokens N    max_tokens of each (default 256)
  --no-ssh                 skip the gateway over the SSH transport
  --no-nginx               skip the nginx row
  --out FILE               JSON result (default tmp/bench/data-plane.json)
  --help                   this text
`;

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max).optional();

// No defaults here: a value not given falls back to the plain or the --quick default below, so
// that --quick --n 100 is 100.
const schema = z.object({
  rounds: int(1, 100),
  n: int(1, 1_000_000),
  warmup: int(0, 1_000_000),
  'stream-n': int(1, 1_000_000),
  // The gateway's PromptDto caps max_tokens at 32768.
  'max-tokens': int(1, 32_768),
  'stream-max-tokens': int(1, 32_768),
  duration: int(0, 3_600),
  'wrk-warmup': int(0, 600),
  'gap-n': int(1, 10_000),
  'gap-tokens': int(2, 32_768),
  'token-latency-ms': int(1, 60_000),
  'concurrent-streams': int(1, 4_096),
  'concurrent-tokens': int(1, 32_768),
  quick: z.boolean().default(false),
  ssh: z.boolean().default(true),
  nginx: z.boolean().default(true),
  help: z.boolean().default(false),
  out: z
    .string()
    .min(1)
    .default(path.join('tmp', 'bench', 'data-plane.json')),
});

type Numbers =
  'n' | 'warmup' | 'streamN' | 'maxTokens' | 'streamMaxTokens' | 'duration' | 'wrkWarmup' | 'gapN';
type Sized = Numbers | 'gapTokens' | 'tokenLatencyMs' | 'concurrentStreams' | 'concurrentTokens' | 'rounds';

export const DEFAULTS: Readonly<Record<Sized, number>> = {
  rounds: 1,
  n: 300,
  warmup: 30,
  streamN: 100,
  maxTokens: 8,
  streamMaxTokens: 64,
  duration: 5,
  wrkWarmup: 1,
  gapN: 10,
  gapTokens: 64,
  tokenLatencyMs: 10,
  concurrentStreams: 64,
  concurrentTokens: 256,
};

/** The 64 x 256 streams stay as they are: they are a target, and take under 3 s. */
export const QUICK: Readonly<Partial<Record<Sized, number>>> = {
  n: 40,
  warmup: 5,
  streamN: 10,
  duration: 1,
  wrkWarmup: 0,
  gapN: 2,
  gapTokens: 32,
};

const FLAGS = new Set([
  'rounds',
  'n',
  'warmup',
  'stream-n',
  'max-tokens',
  'stream-max-tokens',
  'duration',
  'wrk-warmup',
  'gap-n',
  'gap-tokens',
  'token-latency-ms',
  'concurrent-streams',
  'concurrent-tokens',
  'out',
]);
const SWITCHES: Readonly<Record<string, [name: string, value: boolean]>> = {
  '--no-ssh': ['ssh', false],
  '--no-nginx': ['nginx', false],
  '--quick': ['quick', true],
  '--help': ['help', true],
  '-h': ['help', true],
};

export type BenchArgs = Pick<BenchConfig, Sized | 'quick' | 'ssh' | 'nginx' | 'help'> & { out: string };

/** `--name value`, `--name=value` and the switches; anything else is refused rather than ignored. */
export function parseArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): BenchArgs {
  const raw: Record<string, unknown> = {
    n: env.BENCH_N,
    warmup: env.BENCH_WARMUP,
    'stream-n': env.BENCH_STREAM_N,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const toggle = SWITCHES[arg];
    if (toggle) {
      raw[toggle[0]] = toggle[1];
      continue;
    }
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    const name = match?.[1];
    if (name === undefined || !FLAGS.has(name))
      throw new BenchConfigError(`unknown argument ${arg}\n${USAGE}`);
    let value = match?.[2];
    if (value === undefined) {
      i++;
      value = argv[i];
    }
    if (value === undefined) throw new BenchConfigError(`${arg} needs a value\n${USAGE}`);
    raw[name] = value;
  }
  const given = Object.fromEntries(
    Object.entries(raw).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = schema.safeParse(given);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `--${issue.path.join('.')}: ${issue.message}`);
    throw new BenchConfigError(`${problems.join('\n')}\n${USAGE}`);
  }
  const a = parsed.data;
  const pick = (value: number | undefined, name: Sized): number =>
    value ?? (a.quick ? QUICK[name] : undefined) ?? DEFAULTS[name];
  return {
    help: a.help,
    quick: a.quick,
    ssh: a.ssh,
    nginx: a.nginx,
    out: a.out,
    rounds: pick(a.rounds, 'rounds'),
    n: pick(a.n, 'n'),
    warmup: pick(a.warmup, 'warmup'),
    streamN: pick(a['stream-n'], 'streamN'),
    maxTokens: pick(a['max-tokens'], 'maxTokens'),
    streamMaxTokens: pick(a['stream-max-tokens'], 'streamMaxTokens'),
    duration: pick(a.duration, 'duration'),
    wrkWarmup: pick(a['wrk-warmup'], 'wrkWarmup'),
    gapN: pick(a['gap-n'], 'gapN'),
    gapTokens: pick(a['gap-tokens'], 'gapTokens'),
    tokenLatencyMs: pick(a['token-latency-ms'], 'tokenLatencyMs'),
    concurrentStreams: pick(a['concurrent-streams'], 'concurrentStreams'),
    concurrentTokens: pick(a['concurrent-tokens'], 'concurrentTokens'),
  };
}

/** Reads the env file tools/infra/up.sh writes (the same one the e2e suites read). */
export function readSshInfra(file: string): SshInfra | { missing: string } {
  if (!existsSync(file)) return { missing: `${file} does not exist (tools/infra/up.sh not run)` };
  const values = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) values.set(line.slice(0, at), line.slice(at + 1));
  }
  const names = ['SSH_HOST', 'SSH_PORT', 'SSH_USER', 'SSH_KEY_PATH', 'SSH_KNOWN_HOSTS_PATH'];
  const absent = names.filter((name) => !values.get(name));
  if (absent.length > 0) return { missing: `${file} has no ${absent.join(', ')}` };
  return {
    host: values.get('SSH_HOST') ?? '',
    port: Number(values.get('SSH_PORT')),
    user: values.get('SSH_USER') ?? '',
    keyPath: values.get('SSH_KEY_PATH') ?? '',
    knownHostsPath: values.get('SSH_KNOWN_HOSTS_PATH') ?? '',
  };
}

function redisUrlFrom(file: string, env: Readonly<Record<string, string | undefined>>): string {
  if (env.REDIS_URL) return env.REDIS_URL;
  if (existsSync(file)) {
    const line = readFileSync(file, 'utf8')
      .split('\n')
      .find((entry) => entry.startsWith('REDIS_URL='));
    if (line) return line.slice('REDIS_URL='.length);
  }
  return 'redis://127.0.0.1:6379';
}

export function buildBenchConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  root: string,
): BenchConfig {
  const { out, ...args } = parseArgs(argv, env);
  const infraFile = path.join(env.AIPLANE_INFRA_DIR ?? '/var/tmp/aiplane-infra', 'env');
  return {
    ...args,
    root,
    outFile: path.resolve(root, out),
    redisUrl: redisUrlFrom(infraFile, env),
    env: { PATH: env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: env.HOME ?? '/tmp' },
    sshInfra: readSshInfra(infraFile),
    // Clear of every e2e suite (181xx-188xx) and of `npm start` (8000-8003).
    ports: {
      orchestrator: 18900,
      gateway: 18901,
      nginx: 18902,
      proxy: 18903,
      sshGateway: 18904,
      directSim: 18905,
    },
  };
}

/** The one place the bench reads its process's arguments and environment. */
export function loadBenchConfig(root: string): BenchConfig {
  return buildBenchConfig(process.argv.slice(2), process.env, root);
}

// ---- front.bench.ts -------------------------------------------------------------------------------

export interface FrontBenchConfig {
  help: boolean;
  /** Measured sequential requests per target in each round. */
  n: number;
  warmup: number;
  /** Interleaved rounds; every figure is the median of the rounds' figures. */
  rounds: number;
  /** Seconds of each wrk run. */
  duration: number;
  /** Concurrent connections of the throughput runs. */
  connections: number;
  /** Sequential requests per kind in each round of the connection-cap measurement. */
  capN: number;
  root: string;
  outFile: string;
  env: Record<string, string>;
  /** Only 18910–18919: clear of the data-plane bench (18900–18905) and every e2e suite. */
  ports: { direct: number; front: number; nginx: number; calibration: number };
}

export const FRONT_USAGE = `usage: node dist/tools/bench/front.bench.js [options]
  --n N            measured sequential requests per target and round (default 1000)
  --warmup N       warm-up requests per target and round (default 100)
  --rounds N       interleaved rounds; figures are their median (default 3)
  --duration S     seconds of each wrk run (default 5)
  --connections N  connections of the wrk runs (default 64)
  --cap-n N        requests per kind and round with the connection cap full (default 200)
  --out FILE       JSON result (default tmp/bench/front.json)
  --help           this text
`;

const frontInt = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const frontSchema = z.object({
  n: frontInt(1, 1_000_000, 1000),
  warmup: frontInt(0, 1_000_000, 100),
  rounds: frontInt(1, 99, 3),
  duration: frontInt(1, 3600, 5),
  connections: frontInt(1, 10_000, 64),
  'cap-n': frontInt(1, 1_000_000, 200),
  help: z.boolean().default(false),
  out: z
    .string()
    .min(1)
    .default(path.join('tmp', 'bench', 'front.json')),
});

const FRONT_FLAGS = new Set(['n', 'warmup', 'rounds', 'duration', 'connections', 'cap-n', 'out']);

export function parseFrontArgs(argv: readonly string[]): z.infer<typeof frontSchema> {
  const raw: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') {
      raw.help = true;
      continue;
    }
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    const name = match?.[1];
    if (name === undefined || !FRONT_FLAGS.has(name))
      throw new BenchConfigError(`unknown argument ${arg}\n${FRONT_USAGE}`);
    let value = match?.[2];
    if (value === undefined) {
      i++;
      value = argv[i];
    }
    if (value === undefined) throw new BenchConfigError(`${arg} needs a value\n${FRONT_USAGE}`);
    raw[name] = value;
  }
  const parsed = frontSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `--${issue.path.join('.')}: ${issue.message}`);
    throw new BenchConfigError(`${problems.join('\n')}\n${FRONT_USAGE}`);
  }
  return parsed.data;
}

export function buildFrontBenchConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  root: string,
): FrontBenchConfig {
  const args = parseFrontArgs(argv);
  return {
    help: args.help,
    n: args.n,
    warmup: args.warmup,
    rounds: args.rounds,
    duration: args.duration,
    connections: args.connections,
    capN: args['cap-n'],
    root,
    outFile: path.resolve(root, args.out),
    env: { PATH: env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: env.HOME ?? '/tmp' },
    ports: { direct: 18910, front: 18911, nginx: 18912, calibration: 18913 },
  };
}

/** The front bench's one read of its process's arguments and environment. */
export function loadFrontBenchConfig(root: string): FrontBenchConfig {
  return buildFrontBenchConfig(process.argv.slice(2), process.env, root);
}
