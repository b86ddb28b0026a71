import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { ensurePrivateDir } from '@aiplane/config';
import { connect } from 'node:net';
import * as path from 'node:path';

export interface PrivateRedisOptions {
  /** Created 0700 if missing; holds the config, the socket, the data and the log. */
  dir: string;
  /** The redis-server binary: a path, or a name looked up on PATH. */
  serverBin?: string;
  /** Only tests change it, to show that an app refuses a Redis that evicts. */
  maxmemoryPolicy?: string;
  startTimeoutMs?: number;
}

export interface PrivateRedis {
  /** `unix://:<password>@<dir>/redis.sock`: give it to the apps as REDIS_URL, never log it. */
  url: string;
  socketPath: string;
  pid: number;
  stop(): Promise<void>;
}

export class PrivateRedisError extends Error {
  readonly code = 'PRIVATE_REDIS';
}

// sun_path is 108 bytes on Linux, including the terminating NUL.
const MAX_SOCKET_PATH = 107;

/**
 * A Redis of this user's alone for the stack: a Unix socket in a 0700 directory and no TCP port,
 * a fresh password, files created 0600, and `noeviction` so a full Redis refuses writes instead
 * of dropping records. The data survives a restart in the same `dir`.
 */
export async function startPrivateRedis(options: PrivateRedisOptions): Promise<PrivateRedis> {
  const dir = path.resolve(options.dir);
  const socketPath = path.join(dir, 'redis.sock');
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    throw new PrivateRedisError(
      `the Redis socket path ${socketPath} is longer than the ${MAX_SOCKET_PATH} bytes a Unix socket allows: choose a shorter directory`,
    );
  }
  ensurePrivateDir(dir);
  ensurePrivateDir(path.join(dir, 'data'));
  const password = randomBytes(32).toString('hex');
  const configPath = path.join(dir, 'redis.conf');
  // The password goes in a 0600 file, not on the command line, which every user can read in ps.
  writeFileSync(
    configPath,
    [
      'port 0',
      `unixsocket ${socketPath}`,
      'unixsocketperm 700',
      `dir ${path.join(dir, 'data')}`,
      `logfile ${path.join(dir, 'redis.log')}`,
      // appendfsync always: a record is on disk before any client hears of it.
      'appendonly yes',
      'appendfsync always',
      `maxmemory-policy ${options.maxmemoryPolicy ?? 'noeviction'}`,
      `requirepass ${password}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  chmodSync(configPath, 0o600);
  // umask 077 so the AOF, the RDB and the log are the user's alone whatever the caller's umask.
  const serverBin = options.serverBin ?? 'redis-server';
  const child = spawn('/bin/sh', ['-c', 'umask 077 && exec "$0" "$@"', serverBin, configPath], {
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      resolve(code);
    });
    child.once('error', () => {
      resolve(null);
    });
  });
  const url = `unix://:${password}@${socketPath}`;
  try {
    await waitForPong(serverBin, socketPath, password, exited, options.startTimeoutMs ?? 10_000);
  } catch (error) {
    child.kill('SIGKILL');
    const log = tail(path.join(dir, 'redis.log'));
    const message = error instanceof Error ? error.message : String(error);
    throw new PrivateRedisError(`${message}${log ? `; its log ends:\n${log}` : ''}`);
  }
  return {
    url,
    socketPath,
    pid: child.pid ?? 0,
    stop: () => stopChild(child, exited),
  };
}

async function waitForPong(
  serverBin: string,
  socketPath: string,
  password: string,
  exited: Promise<number | null>,
  timeoutMs: number,
): Promise<void> {
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exitCode !== undefined) {
      throw new PrivateRedisError(`${serverBin} exited during start-up (exit code ${String(exitCode)})`);
    }
    if (await answersPong(socketPath, password)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new PrivateRedisError(`redis-server did not answer on ${socketPath} within ${timeoutMs} ms`);
}

/** AUTH then PING over the socket, in RESP, without a client library. */
function answersPong(socketPath: string, password: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => {
      done(false);
    });
    socket.once('error', () => {
      done(false);
    });
    socket.once('connect', () => {
      socket.write(
        `*2\r\n$4\r\nAUTH\r\n$${Buffer.byteLength(password)}\r\n${password}\r\n*1\r\n$4\r\nPING\r\n`,
      );
    });
    socket.on('data', (data) => {
      reply += data.toString('utf8');
      if (reply.includes('+PONG\r\n')) done(true);
      else if (reply.startsWith('-')) done(false);
    });
  });
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  // TERM: Redis fsyncs the AOF and removes its socket before it exits.
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(killer);
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-10).join('\n').trim();
  } catch {
    return '';
  }
}
