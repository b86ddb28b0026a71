import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { CLUSTER_EXIT, ClusterError } from './cluster.errors';

/** This machine's record of a detached gateway, per SSH host. */
export interface LocalGatewayRecord {
  host: string;
  pid: number;
  port: number;
  url: string;
  node: string;
  log: string;
  started_at: string;
}

export interface GatewayLaunch {
  root: string;
  port: number;
  env: Record<string, string>;
  detach: boolean;
  logFile: string;
  timeoutMs: number;
}

export interface LaunchedGateway {
  pid: number;
  url: string;
  child: ChildProcess;
  /** Resolves with the exit code once the gateway has exited. */
  exited: Promise<number | null>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A file name for the host, whatever characters an alias holds. */
export function recordName(host: string): string {
  return host.replace(/[^A-Za-z0-9._@-]/g, '_');
}

export function gatewayScript(root: string): string {
  return path.join(root, 'dist', 'apps', 'gateway', 'src', 'main.js');
}

function tail(file: string, from: number, lines = 20): string {
  try {
    return readFileSync(file).subarray(from).toString('utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * The gateway of this checkout, on 127.0.0.1:`port`, with the SSH transport the caller's
 * environment describes; resolves once its /health answers 200, i.e. it reached the cluster side
 * over SSH and the orchestrator takes creates. In the foreground it shares this terminal, so it
 * can ask for a passphrase or a one-time code.
 */
export async function launchGateway(launch: GatewayLaunch): Promise<LaunchedGateway> {
  const script = gatewayScript(launch.root);
  if (!existsSync(script)) {
    throw new ClusterError(
      `${script} is missing: run \`npm run build\` in ${launch.root}`,
      CLUSTER_EXIT.failed,
    );
  }
  await mkdir(path.dirname(launch.logFile), { recursive: true, mode: 0o700 });
  const logStart = existsSync(launch.logFile) ? statSync(launch.logFile).size : 0;
  let child: ChildProcess;
  if (launch.detach) {
    const log = openSync(launch.logFile, 'a', 0o600);
    child = spawn(process.execPath, [script], {
      env: launch.env,
      detached: true,
      stdio: ['ignore', log, log],
    });
    closeSync(log);
  } else {
    child = spawn(process.execPath, [script], { env: launch.env, stdio: 'inherit' });
  }
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => {
      exitCode = code ?? (signal === null ? null : 128);
      resolve(exitCode);
    });
    child.once('error', () => {
      exitCode = null;
      resolve(null);
    });
  });
  const url = `http://127.0.0.1:${String(launch.port)}`;
  const deadline = Date.now() + launch.timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (exitCode !== undefined) {
      const logTail = launch.detach ? tail(launch.logFile, logStart) : '';
      throw new ClusterError(
        `the local gateway exited during start-up (exit code ${String(exitCode)})` +
          (logTail ? `; its log (${launch.logFile}) ends:\n${logTail}` : '; see its output above'),
        CLUSTER_EXIT.failed,
      );
    }
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5_000) });
      const body = await res.text();
      if (res.status === 200) break;
      last = `${String(res.status)} ${body.slice(0, 300)}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await sleep(300);
  }
  if (Date.now() >= deadline) {
    child.kill('SIGTERM');
    throw new ClusterError(
      `the local gateway was not healthy within ${String(launch.timeoutMs / 1000)} s: /health said ${last}` +
        (launch.detach ? `; its log: ${launch.logFile}` : ''),
      CLUSTER_EXIT.timedOut,
    );
  }
  if (launch.detach) child.unref();
  return { pid: child.pid ?? 0, url, child, exited };
}

function recordPath(stateDir: string, host: string): string {
  return path.join(stateDir, 'cluster', `${recordName(host)}.json`);
}

export async function saveRecord(stateDir: string, record: LocalGatewayRecord): Promise<void> {
  const file = recordPath(stateDir, record.host);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${String(process.pid)}.tmp`;
  await writeFile(temporary, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, file);
}

export async function loadRecord(stateDir: string, host: string): Promise<LocalGatewayRecord | undefined> {
  try {
    return JSON.parse(await readFile(recordPath(stateDir, host), 'utf8')) as LocalGatewayRecord;
  } catch {
    return undefined;
  }
}

export async function removeRecord(stateDir: string, host: string): Promise<void> {
  await rm(recordPath(stateDir, host), { force: true });
}

/** Whether `pid` is still the gateway this checkout started (a reused pid is not). */
export function isOurGateway(pid: number, root: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${String(pid)}/cmdline`, 'utf8').split('\0');
    return cmdline.includes(gatewayScript(root));
  } catch {
    return false;
  }
}

/** TERM, then KILL after 15 s; resolves once the process is gone. */
export async function stopProcess(pid: number): Promise<void> {
  const gone = (): boolean => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  };
  if (gone()) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while (!gone() && Date.now() < deadline) await sleep(100);
  if (!gone()) process.kill(pid, 'SIGKILL');
  while (!gone()) await sleep(50);
}

/** The node the gateway pinned for `target` (`user@hostname:port`), from its pin file. */
export async function pinnedNode(stateDir: string, target: string): Promise<string | undefined> {
  try {
    const file = JSON.parse(await readFile(path.join(stateDir, 'ssh-pins.json'), 'utf8')) as {
      pins?: Record<string, { node?: string } | undefined>;
    };
    return file.pins?.[target]?.node;
  } catch {
    return undefined;
  }
}

/**
 * Drops the pin for `target` when it names another node than the one the cluster side now runs
 * on: the control plane moved there, so that pin can only make the gateway refuse it.
 */
export async function dropStalePin(
  stateDir: string,
  target: string,
  node: string,
): Promise<string | undefined> {
  const file = path.join(stateDir, 'ssh-pins.json');
  let pins: { pins?: Record<string, { node?: string } | undefined> };
  try {
    pins = JSON.parse(await readFile(file, 'utf8')) as typeof pins;
  } catch {
    return undefined;
  }
  const old = pins.pins?.[target]?.node;
  if (old === undefined || old === node || pins.pins === undefined) return undefined;
  const { [target]: _dropped, ...rest } = pins.pins;
  const temporary = `${file}.${String(process.pid)}.tmp`;
  await writeFile(temporary, `${JSON.stringify({ ...pins, pins: rest }, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, file);
  return old;
}
