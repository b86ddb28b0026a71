import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '@aiplane/testing';

/** A Unix user the suite creates: the researcher running a stack, or the co-tenant attacking it. */
export interface UnixUser {
  name: string;
  uid: number;
  home: string;
}

export interface RunResult {
  status: number | null;
  /** stdout and stderr together, in the order a terminal would show them (roughly). */
  output: string;
}

const PATH = '/usr/local/bin:/usr/bin:/bin';

/** `env -i NAME=value ...`: the user's processes see exactly this environment, nothing of root's. */
function cleanEnv(user: UnixUser, env: Record<string, string>): string[] {
  const all = { PATH, HOME: user.home, LANG: 'C', ...env };
  return ['env', '-i', ...Object.entries(all).map(([name, value]) => `${name}=${value}`)];
}

/** Creates the user unless it exists (a run that died before its teardown left it). */
export function ensureUser(name: string): UnixUser {
  if (spawnSync('id', ['-u', name]).status !== 0) {
    execFileSync('useradd', ['--create-home', '--shell', '/bin/sh', name]);
  }
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  const entry = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).trim().split(':');
  return { name, uid, home: entry[5] ?? path.join('/home', name) };
}

/** Cancels the user's SLURM jobs (each by id) and removes the user with its home. */
export function removeUser(user: UnixUser): void {
  const jobs = spawnSync('squeue', ['--noheader', '--user', user.name, '--format=%i'], { encoding: 'utf8' });
  for (const id of (jobs.stdout || '').split('\n').filter((line) => /^\d+$/.test(line.trim()))) {
    spawnSync('scancel', [id.trim()]);
  }
  spawnSync('userdel', ['--remove', '--force', user.name]);
}

/** Runs `command` as `user` with a clean environment; never throws, so refusals can be asserted. */
export function runAs(
  user: UnixUser,
  command: string[],
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): RunResult {
  const result = spawnSync('runuser', ['-u', user.name, '--', ...cleanEnv(user, env), ...command], {
    encoding: 'utf8',
    cwd: '/',
    timeout: timeoutMs,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/**
 * Fails with a message that says what to do when `user` cannot read the built checkout: every
 * directory above it must be searchable by others (the stack runs as that user, from here).
 */
export function assertCheckoutReadable(user: UnixUser): void {
  const entry = path.join(ROOT, 'dist', 'tools', 'stack', 'start-stack.js');
  const probe = runAs(user, ['test', '-r', entry]);
  if (probe.status !== 0) {
    throw new Error(
      `user ${user.name} cannot read ${entry}: the checkout (${ROOT}) and every directory above it ` +
        'must be readable and searchable by other users (chmod o+rx), and built (npm run build)',
    );
  }
}

export interface UserStack {
  user: UnixUser;
  gatewayUrl: string;
  /** The orchestrator's TCP listener for compute-node clients. */
  orchestratorUrl: string;
  connectionFile: string;
  runtimeDir: string;
  stateDir: string;
  output: string[];
  stop(): Promise<void>;
}

const READY = /Ready: gateway (http:\/\/\S+)\/api\/v1/;
const CLUSTER = /On-cluster clients: (\S+) \(orchestrator (http:\/\/\S+)\)/;

/**
 * `npm start`'s supervisor (dist/tools/stack/start-stack.js) as `user`: no root, no Docker, its
 * sockets and state under the user's home, the gateway on a free port, jobs on the real SLURM.
 */
export async function startUserStack(
  user: UnixUser,
  options: { redisPrefix: string; slurmPartition: string },
  timeoutMs = 90_000,
): Promise<UserStack> {
  const env = {
    AIPLANE_ROOT: ROOT,
    REDIS_PREFIX: options.redisPrefix,
    SCHEDULER: 'slurm',
    SLURM_PARTITION: options.slurmPartition,
    GATEWAY_PORT: '0',
    LOG_LEVEL: 'info',
  };
  const script = path.join(ROOT, 'dist', 'tools', 'stack', 'start-stack.js');
  // Its own process group, so stop() reaches runuser, the supervisor and every service it started.
  const child = spawn('runuser', ['-u', user.name, '--', ...cleanEnv(user, env), process.execPath, script], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  const stop = async (): Promise<void> => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    process.kill(-child.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, 20_000);
    await exited;
    clearTimeout(timer);
  };
  const ready = new Promise<{ gatewayUrl: string; connectionFile: string; orchestratorUrl: string }>(
    (resolve, reject) => {
      let gatewayUrl: string | undefined;
      const timer = setTimeout(() => {
        reject(new Error(`the stack of ${user.name} was not ready within ${String(timeoutMs)} ms`));
      }, timeoutMs);
      const onData = (chunk: Buffer): void => {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (line === '') continue;
          output.push(line);
          gatewayUrl ??= READY.exec(line)?.[1];
          const cluster = CLUSTER.exec(line);
          if (gatewayUrl !== undefined && cluster?.[1] !== undefined && cluster[2] !== undefined) {
            clearTimeout(timer);
            resolve({ gatewayUrl, connectionFile: cluster[1], orchestratorUrl: cluster[2] });
          }
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`the stack of ${user.name} exited before it was ready`));
      });
    },
  );
  try {
    const { gatewayUrl, connectionFile, orchestratorUrl } = await ready;
    return {
      user,
      gatewayUrl,
      orchestratorUrl,
      connectionFile,
      runtimeDir: path.dirname(connectionFile),
      stateDir: path.join(user.home, '.aiplane', 'state'),
      output,
      stop,
    };
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${output.slice(-40).join('\n')}`);
  }
}

/** A process of `user`'s that runs beside the test (a flood, a squatter): its output so far, and a stop. */
export interface UserProcess {
  output(): string;
  /** Resolves with everything it printed once it has exited on its own. */
  exited: Promise<RunResult>;
  stop(): Promise<RunResult>;
}

/** Like runAs, but without blocking the test: the process runs until it exits or stop() kills it. */
export function startAs(user: UnixUser, command: string[], env: Record<string, string> = {}): UserProcess {
  const child = spawn('runuser', ['-u', user.name, '--', ...cleanEnv(user, env), ...command], {
    cwd: '/',
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<RunResult>((resolve) => {
    child.once('close', (status) => {
      resolve({ status, output });
    });
  });
  return {
    output: () => output,
    exited,
    stop: async () => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
      return exited;
    },
  };
}

/**
 * Every secret `user`'s processes hold, as root sees them: values of environment variables whose
 * names say key, token or password (each of a comma-separated list too), and Redis URLs' passwords.
 */
export function secretsOf(user: UnixUser): Set<string> {
  const secrets = new Set<string>();
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let environ: string;
    try {
      if (statSync(`/proc/${pid}`).uid !== user.uid) continue;
      environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      continue;
    }
    for (const entry of environ.split('\0')) {
      const at = entry.indexOf('=');
      if (at < 0) continue;
      const name = entry.slice(0, at);
      const value = entry.slice(at + 1);
      if (/(KEY|KEYS|TOKEN|PASS|PASSWORD|SECRET)$/.test(name)) {
        for (const part of value.split(',')) if (part.length >= 16) secrets.add(part);
      }
      const password =
        /^redis(?:s)?:\/\/[^:@/]*:([^@]+)@/.exec(value)?.[1] ?? /^unix:\/\/:([^@]+)@/.exec(value)?.[1];
      if (password !== undefined && password.length >= 16) secrets.add(decodeURIComponent(password));
    }
  }
  return secrets;
}
