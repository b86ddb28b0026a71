import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import {
  defaultRuntimeDir,
  optionalTextFromEnv,
  parseConfig,
  portFromEnv,
  redisUrlFromEnv,
} from '@aiplane/config';
import { ExecFileCommandRunner, LocalScheduler, SlurmScheduler } from '@aiplane/scheduler';
import { startPrivateRedis, startStack, type PrivateRedis, type RunningControlPlane } from '@aiplane/stack';
import { ensurePrivateDir, prettyLogLine } from '@aiplane/server-kit';
import { parseStartArgs, START_USAGE, StartArgsError } from './start-args.parser';

// `npm start`: the embedded default. Everything runs on this machine, as the user who starts it
// (no root needed), with the local executor unless `--slurm` (or SCHEDULER=slurm) says otherwise.
const schema = z.object({
  AIPLANE_ROOT: z.string().min(1),
  /** An existing Redis (with its password in the URL); unset, the stack runs a private one in the state dir. */
  REDIS_URL: redisUrlFromEnv.optional(),
  /** The private Redis's binary: a path, or a name on PATH. */
  REDIS_SERVER_BIN: z.string().min(1).default('redis-server'),
  /** Keys and queues of this stack; two stacks on one Redis need two prefixes. */
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/)
    .default('aiplane'),
  /** Job directories; by default under the user's home, never in a shared place. */
  AIPLANE_STATE_DIR: optionalTextFromEnv,
  /** Sockets and connection.json (0700); by default $XDG_RUNTIME_DIR/aiplane or ~/.aiplane/run. */
  AIPLANE_RUNTIME_DIR: optionalTextFromEnv,
  XDG_RUNTIME_DIR: optionalTextFromEnv,
  /** The researcher's side; 0 picks a free port (two stacks side by side). */
  GATEWAY_PORT: portFromEnv.default(8001),
  /** Where compute-node clients reach the orchestrator (connection.json); port 0 picks a free one. */
  ORCHESTRATOR_HOST: z.string().min(1).default('127.0.0.1'),
  ORCHESTRATOR_PORT: portFromEnv.default(0),
  SCHEDULER: z.enum(['local', 'slurm']).default('local'),
  SLURM_PARTITION: optionalTextFromEnv,
  LOG_LEVEL: z.enum(['trace', 'debug', 'info']).default('info'),
  /**
   * `pretty` (the default here: a person is reading) shows each app's JSON log line as one coloured
   * line; `json` passes them on as they are. The apps always write JSON to the stack, which reads
   * their readiness from it.
   */
  LOG_FORMAT: z.enum(['json', 'pretty'], { error: 'must be "json" or "pretty"' }).default('pretty'),
  PATH: z.string().default('/usr/local/bin:/usr/bin:/bin'),
  HOME: z.string().default(os.homedir()),
});

/** In the runtime dir once a gateway-less stack is ready; `aiplane cluster up` waits for it, by pid. */
const READY_FILE = 'stack.json';

function writeReadyFile(file: string, stack: RunningControlPlane, scheduler: 'local' | 'slurm'): void {
  const ready = {
    pid: process.pid,
    scheduler,
    orchestrator_socket: stack.orchestratorSocket,
    proxy_socket: stack.proxySocket,
    connection_file: stack.connectionFile,
    started_at: new Date().toISOString(),
  };
  // Through a temporary name, so a reader never sees half a file.
  const temporary = `${file}.${String(process.pid)}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(ready, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, file);
}

/** Only our own: a stack started after this one in the same dir owns the file then. */
function removeReadyFile(file: string): void {
  try {
    const written = JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown };
    if (written.pid === process.pid) rmSync(file, { force: true });
  } catch {
    // Never written (a stack with a gateway), or already gone.
  }
}

const colours = ['\x1b[36m', '\x1b[35m', '\x1b[33m', '\x1b[32m', '\x1b[34m'];
const colourOf = new Map<string, string>();

const output = { pretty: true, colour: process.stdout.isTTY };

function print(name: string, line: string): void {
  if (output.pretty && line.startsWith('{')) {
    process.stdout.write(prettyLogLine(line, output.colour));
    return;
  }
  if (!colourOf.has(name)) colourOf.set(name, colours[colourOf.size % colours.length] ?? '');
  process.stdout.write(`${colourOf.get(name) ?? ''}${name.padEnd(13)}\x1b[0m ${line}\n`);
}

/** Its data stays in the state dir, so the records survive a restart of `npm start`. */
async function privateRedis(stateDir: string, serverBin: string): Promise<PrivateRedis> {
  const redis = await startPrivateRedis({ dir: path.join(stateDir, 'redis'), serverBin });
  print(
    'redis',
    `private Redis on ${redis.socketPath} (pid ${String(redis.pid)}), password-protected, no TCP port`,
  );
  return redis;
}

/** Before anything starts: a stack whose worker cannot reach SLURM would accept creates it never runs. */
async function slurmAnswers(): Promise<void> {
  await new SlurmScheduler(new ExecFileCommandRunner({ timeoutMs: 15_000 }))
    .ping()
    .catch((error: unknown) => {
      throw new Error(
        `--slurm needs this machine's SLURM (sbatch, squeue, scancel on PATH and a controller that answers): ` +
          `${error instanceof Error ? error.message : String(error)}. Here, \`tools/infra/up.sh slurm\` (as root) provides it.`,
      );
    });
}

async function main(): Promise<void> {
  const args = parseStartArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(START_USAGE);
    return;
  }
  const config = parseConfig('npm start', schema, process.env);
  output.pretty = config.LOG_FORMAT === 'pretty';
  // The flag beats the environment: `npm start -- --slurm` is the documented way.
  const scheduler = args.scheduler ?? config.SCHEDULER;
  if (scheduler === 'slurm') await slurmAnswers();
  const stateDir = config.AIPLANE_STATE_DIR ?? path.join(config.HOME, '.aiplane', 'state');
  const runtimeDir =
    config.AIPLANE_RUNTIME_DIR ??
    defaultRuntimeDir({
      HOME: config.HOME,
      ...(config.XDG_RUNTIME_DIR === undefined ? {} : { XDG_RUNTIME_DIR: config.XDG_RUNTIME_DIR }),
    });
  // Before the private Redis goes in it: whoever can write the state dir can swap the Redis dir,
  // and its socket, for their own, and read the password from the apps' AUTH.
  await ensurePrivateDir(stateDir).catch((error: unknown) => {
    throw new Error(`AIPLANE_STATE_DIR refused: ${error instanceof Error ? error.message : String(error)}`);
  });
  const redis = config.REDIS_URL
    ? { url: config.REDIS_URL, stop: () => Promise.resolve() }
    : await privateRedis(stateDir, config.REDIS_SERVER_BIN);
  const stackOptions = {
    root: config.AIPLANE_ROOT,
    redisUrl: redis.url,
    redisPrefix: config.REDIS_PREFIX,
    scheduler,
    stateDir,
    runtimeDir,
    ports: { gateway: config.GATEWAY_PORT, orchestrator: config.ORCHESTRATOR_PORT },
    clusterHost: config.ORCHESTRATOR_HOST,
    ...(config.SLURM_PARTITION === undefined ? {} : { slurmPartition: config.SLURM_PARTITION }),
    logLevel: config.LOG_LEVEL,
    env: { PATH: config.PATH, HOME: config.HOME },
  };
  const stopRedisOnFailure = async (error: unknown): Promise<never> => {
    await redis.stop();
    throw error;
  };
  const stack: RunningControlPlane = args.gateway
    ? await startStack(stackOptions, print).catch(stopRedisOnFailure)
    : await startStack({ ...stackOptions, gateway: false }, print).catch(stopRedisOnFailure);
  if (scheduler === 'slurm') {
    print(
      'slurm-worker',
      'workloads go to SLURM (sbatch); they keep running if the stack stops: cancel them first',
    );
  }
  const readyFile = path.join(stack.runtimeDir, READY_FILE);
  if ('gatewayUrl' in stack && typeof stack.gatewayUrl === 'string') {
    process.stdout.write(
      `\nReady: gateway ${stack.gatewayUrl}/api/v1  ·  Swagger ${stack.gatewayUrl}/docs  ·  Ctrl-C stops everything\n` +
        `On-cluster clients: ${stack.connectionFile} (orchestrator ${stack.orchestratorUrl})\n\n`,
    );
  } else {
    writeReadyFile(readyFile, stack, scheduler);
    process.stdout.write(
      `\nReady: cluster side (no gateway here), orchestrator socket ${stack.orchestratorSocket}, ` +
        `proxy socket ${stack.proxySocket}  ·  ${readyFile}\n` +
        `On-cluster clients: ${stack.connectionFile} (orchestrator ${stack.orchestratorUrl})\n\n`,
    );
  }
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nStopping the stack and the workloads it started...\n');
    void (async () => {
      removeReadyFile(readyFile);
      await stack.stop();
      // Workloads are detached so a worker restart does not kill them; stopping the whole
      // stack does. They are cancelled through the executor, so their records end `cancelled`.
      const cancelled = scheduler === 'local' ? await new LocalScheduler({ stateDir }).cancelAll() : 0;
      if (cancelled > 0) process.stdout.write(`Cancelled ${cancelled} running workload(s).\n`);
      await redis.stop();
      process.exit(0);
    })();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(error instanceof StartArgsError ? 2 : 1);
});
