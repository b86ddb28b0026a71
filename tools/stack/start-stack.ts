import * as path from 'node:path';
import { z } from 'zod';
import { parseConfig, portFromEnv, redisUrlFromEnv } from '@aiplane/config';
import { LocalScheduler } from '@aiplane/scheduler';
import { startPrivateRedis, startStack, type PrivateRedis } from '@aiplane/stack';

// `npm start`: the embedded default. Everything runs on this machine with the local executor.
const schema = z.object({
  AIPLANE_ROOT: z.string().min(1),
  /** An existing Redis (with its password in the URL); unset, the stack runs a private one in the state dir. */
  REDIS_URL: redisUrlFromEnv.optional(),
  /** The private Redis's binary: a path, or a name on PATH. */
  REDIS_SERVER_BIN: z.string().min(1).default('redis-server'),
  AIPLANE_STATE_DIR: z.string().min(1).optional(),
  GATEWAY_PORT: portFromEnv.default(8001),
  ORCHESTRATOR_PORT: portFromEnv.default(8000),
  PROXY_PORT: portFromEnv.default(8003),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info']).default('info'),
  PATH: z.string().default('/usr/local/bin:/usr/bin:/bin'),
  HOME: z.string().default('/tmp'),
});

const colours = ['\x1b[36m', '\x1b[35m', '\x1b[33m', '\x1b[32m', '\x1b[34m'];
const colourOf = new Map<string, string>();

function print(name: string, line: string): void {
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

async function main(): Promise<void> {
  const config = parseConfig('npm start', schema, process.env);
  const stateDir = config.AIPLANE_STATE_DIR ?? path.join(config.AIPLANE_ROOT, '.aiplane');
  const redis = config.REDIS_URL
    ? { url: config.REDIS_URL, stop: () => Promise.resolve() }
    : await privateRedis(stateDir, config.REDIS_SERVER_BIN);
  const stack = await startStack(
    {
      root: config.AIPLANE_ROOT,
      redisUrl: redis.url,
      scheduler: 'local',
      stateDir,
      ports: {
        gateway: config.GATEWAY_PORT,
        orchestrator: config.ORCHESTRATOR_PORT,
        proxy: config.PROXY_PORT,
      },
      logLevel: config.LOG_LEVEL,
      env: { PATH: config.PATH, HOME: config.HOME },
    },
    print,
  ).catch(async (error: unknown) => {
    await redis.stop();
    throw error;
  });
  process.stdout.write(
    `\nReady: gateway ${stack.gatewayUrl}/api/v1  ·  Swagger ${stack.gatewayUrl}/docs  ·  Ctrl-C stops everything\n\n`,
  );
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nStopping the stack and the workloads it started...\n');
    void (async () => {
      await stack.stop();
      // Workloads are detached so a worker restart does not kill them; stopping the whole
      // stack does. They are cancelled through the executor, so their records end `cancelled`.
      const cancelled = await new LocalScheduler({ stateDir }).cancelAll();
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
  process.exit(1);
});
