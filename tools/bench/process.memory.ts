import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessMemory {
  /** Resident set now (VmRSS). */
  rssMiB: number;
  /** Highest resident set the process has had (VmHWM). */
  peakMiB: number;
}

function statusField(status: string, name: string): number | undefined {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
  return match?.[1] === undefined ? undefined : Number(match[1]) / 1024;
}

/** VmRSS and VmHWM from /proc/<pid>/status; undefined once the process is gone. */
export function readMemory(pid: number | undefined): ProcessMemory | undefined {
  if (pid === undefined) return undefined;
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const rss = statusField(status, 'VmRSS');
  const peak = statusField(status, 'VmHWM');
  return rss === undefined || peak === undefined ? undefined : { rssMiB: rss, peakMiB: peak };
}

interface ProcInfo {
  pid: number;
  pgid: number;
  argv: string[];
}

function readProc(pid: number): ProcInfo | undefined {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((part) => part !== '');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may itself hold spaces or parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, pgid: Number(fields[2]), argv };
  } catch {
    return undefined;
  }
}

function allProcesses(): ProcInfo[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readProc(Number(name)))
    .filter((info): info is ProcInfo => info !== undefined);
}

export interface JobProcesses {
  front: number | undefined;
  server: number | undefined;
  /** The front's --upstream-unix: the simulator's private socket. */
  socketPath: string | undefined;
}

/**
 * The auth front and simulator of the local job whose front listens on `port`. The local
 * executor runs a job in its own process group, so the simulator is the node process of the
 * front's group.
 */
export function findJobProcesses(port: number): JobProcesses {
  const processes = allProcesses();
  const front = processes.find(
    (info) =>
      info.argv.some((arg) => arg.endsWith('auth_front.py')) &&
      info.argv.some((arg) => arg.startsWith('--listen') && arg.endsWith(`:${port}`)),
  );
  if (!front) return { front: undefined, server: undefined, socketPath: undefined };
  const server = processes.find(
    (info) => info.pgid === front.pgid && info.argv.some((arg) => arg.endsWith('vllm-sim/src/main.js')),
  );
  const socketArg = front.argv.find((arg) => arg.startsWith('--upstream-unix='));
  return {
    front: front.pid,
    server: server?.pid,
    socketPath: socketArg?.slice('--upstream-unix='.length),
  };
}

/** The variables of a running process whose names start with `prefix` (never the whole environment). */
export function readEnvironment(pid: number, prefix: string): Record<string, string> | undefined {
  try {
    const entries = readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter((entry) => entry.startsWith(prefix))
      .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]);
    return Object.fromEntries(entries) as Record<string, string>;
  } catch {
    return undefined;
  }
}
