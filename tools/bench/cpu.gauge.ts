import { readdirSync, readFileSync } from 'node:fs';

/** Kernel clock ticks per second of /proc/<pid>/stat times: 100 on every Linux this runs on. */
const CLOCK_TICKS_PER_S = 100;

interface StatFields {
  ppid: number;
  /** utime + stime, in clock ticks: user and system time of every thread of the process. */
  cpuTicks: number;
}

/** The fields of one /proc/<pid>/stat line; the command name may hold spaces and parentheses. */
export function parseStat(stat: string): StatFields | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  // After "pid (comm) ": state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
  const fields = stat.slice(close + 2).split(' ');
  const ppid = Number(fields[1]);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (![ppid, utime, stime].every(Number.isFinite)) return undefined;
  return { ppid, cpuTicks: utime + stime };
}

function readStat(pid: number): StatFields | undefined {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** CPU time the process has used so far, in ms (10 ms resolution); undefined once it is gone. */
export function readCpuMs(pid: number): number | undefined {
  const stat = readStat(pid);
  return stat === undefined ? undefined : (stat.cpuTicks * 1000) / CLOCK_TICKS_PER_S;
}

/** The children of `pid` now (nginx's workers are its master's). */
export function childPids(pid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((child) => readStat(child)?.ppid === pid);
}

/** CPU time of a named set of processes (each possibly several pids), in ms. */
export function cpuSnapshot(groups: ReadonlyMap<string, readonly number[]>): Map<string, number> {
  const snapshot = new Map<string, number>();
  for (const [name, pids] of groups)
    snapshot.set(
      name,
      pids.reduce((sum, pid) => sum + (readCpuMs(pid) ?? 0), 0),
    );
  return snapshot;
}
