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

export interface BenchConfig {
  help: boolean;
  /** Measured prompts per hop. */
  n: number;
  /** Prompts per hop sent before measuring (connection set-up, JIT, the proxy's model cache). */
  warmup: number;
  /** Measured streaming prompts per path. */
  streamN: number;
  maxTokens: number;
  streamMaxTokens: number;
  ssh: boolean;
  /** Repository root: dist/ and recipes/ are found from here. */
  root: string;
  outFile: string;
  redisUrl: string;
  /** Base environment of every process started (PATH, HOME). */
  env: Record<string, string>;
  /** What tools/infra/up.sh wrote, or why it is not usable. */
  sshInfra: SshInfra | { missing: string };
  ports: { gateway: number; orchestrator: number; proxy: number; sshGateway: number; front: number };
}

export const USAGE = `usage: node dist/tools/bench/data-plane.bench.js [options]
  --n N                  measured prompts per hop (default 300; env BENCH_N)
  --warmup N             warm-up prompts per hop (default 30; env BENCH_WARMUP)
  --stream-n N           measured streaming prompts per path (default 100; env BENCH_STREAM_N)
  --max-tokens N         max_tokens of the latency prompts (default 8)
  --stream-max-tokens N  max_tokens of the streaming prompts (default 64)
  --no-ssh               skip the gateway over the SSH transport
  --out FILE             JSON result (default tmp/bench/data-plane.json)
  --help                 this text
`;

const int = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const schema = z.object({
  n: int(1, 1_000_000, 300),
  warmup: int(0, 1_000_000, 30),
  'stream-n': int(1, 1_000_000, 100),
  // The gateway's PromptDto caps max_tokens at 32768.
  'max-tokens': int(1, 32_768, 8),
  'stream-max-tokens': int(1, 32_768, 64),
  ssh: z.boolean().default(true),
  help: z.boolean().default(false),
  out: z
    .string()
    .min(1)
    .default(path.join('tmp', 'bench', 'data-plane.json')),
});

const FLAGS = new Set(['n', 'warmup', 'stream-n', 'max-tokens', 'stream-max-tokens', 'out']);

/** `--name value`, `--name=value` and `--no-ssh`; anything else is refused rather than ignored. */
export function parseArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): z.infer<typeof schema> {
  const raw: Record<string, unknown> = {
    n: env.BENCH_N,
    warmup: env.BENCH_WARMUP,
    'stream-n': env.BENCH_STREAM_N,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--no-ssh' || arg === '--help' || arg === '-h') {
      raw[arg === '--no-ssh' ? 'ssh' : 'help'] = arg !== '--no-ssh';
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
  return parsed.data;
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
  const args = parseArgs(argv, env);
  const infraFile = path.join(env.AIPLANE_INFRA_DIR ?? '/var/tmp/aiplane-infra', 'env');
  return {
    help: args.help,
    n: args.n,
    warmup: args.warmup,
    streamN: args['stream-n'],
    maxTokens: args['max-tokens'],
    streamMaxTokens: args['stream-max-tokens'],
    ssh: args.ssh,
    root,
    outFile: path.resolve(root, args.out),
    redisUrl: redisUrlFrom(infraFile, env),
    env: { PATH: env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: env.HOME ?? '/tmp' },
    sshInfra: readSshInfra(infraFile),
    // Clear of every e2e suite (181xx-188xx) and of `npm start` (8000-8003).
    ports: { gateway: 18901, orchestrator: 18900, proxy: 18903, sshGateway: 18904, front: 18905 },
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

const frontSchema = z.object({
  n: int(1, 1_000_000, 1000),
  warmup: int(0, 1_000_000, 100),
  rounds: int(1, 99, 3),
  duration: int(1, 3600, 5),
  connections: int(1, 10_000, 64),
  'cap-n': int(1, 1_000_000, 200),
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
