import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { access, constants as fsConstants, mkdir } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { CorruptRecordError, parseJsonRecord, type JobState } from '@aiplane/contracts';
import { openJobLog, writeJobScript } from './job-script.writer';
import { SchedulerError } from './scheduler.errors';
import type { JobInfo, Scheduler, SubmitRequest } from './scheduler.types';

export interface LocalSchedulerOptions {
  /** Job records live in `<stateDir>/local-jobs/<id>/`; shared by every process using the same dir. */
  stateDir: string;
  /** How long a cancelled job gets between SIGTERM and SIGKILL (SLURM's KillWait defaults to 30 s). */
  killGraceMs?: number;
  bashPath?: string;
}

const localJobRecordSchema = z.object({
  jobId: z.string(),
  name: z.string(),
  pid: z.number().int(),
  jobDir: z.string(),
  submittedAt: z.string(),
  cancelled: z.boolean(),
});
type LocalJobRecord = z.infer<typeof localJobRecordSchema>;

const FIRST_JOB_ID = 1000;
const DEFAULT_KILL_GRACE_MS = 5_000;
const POLL_MS = 50;

/** Every process of a local job carries `AIPLANE_LOCAL_JOB=<its record dir>` in its environment. */
export const LOCAL_JOB_MARKER = 'AIPLANE_LOCAL_JOB';

/**
 * Constant, never built from input: the script, exit file and grace (whole seconds) arrive as $1,
 * $2 and $3. The script runs as its own file (shebang honoured, like slurmd does). When it ends,
 * whatever it left running is terminated, as SLURM ends a job's processes when the batch script
 * exits: the job's process group, and whatever carries the job's marker (a double-forked or
 * setsid child is in neither the group nor the wrapper's tree), SIGKILL after the grace. The
 * wrapper ignores that TERM itself. The status is written last and atomically, so an exit file
 * means the job is over.
 */
const WRAPPER = [
  '"$1"; code=$?',
  'trap "" TERM',
  'kill -TERM 0 2>/dev/null',
  `marked() { local files f p; files=$(grep -lzxF -e "${LOCAL_JOB_MARKER}=$${LOCAL_JOB_MARKER}" /proc/[0-9]*/environ 2>/dev/null) || true; ` +
    'for f in $files; do p=${f#/proc/}; p=${p%/environ}; ' +
    'if [ "$p" != "$$" ] && [ "$p" != "$BASHPID" ] && [ -d "/proc/$p" ]; then echo "$p"; fi; done; }',
  'pids=$(marked); if [ -n "$pids" ]; then kill -TERM $pids 2>/dev/null; fi',
  'for ((i = 0; i < $3 * 10; i++)); do pids=$(marked); if [ -z "$pids" ]; then break; fi; sleep 0.1; done',
  'if [ -n "$pids" ]; then kill -KILL $pids 2>/dev/null; fi',
  // SIGKILL lands asynchronously: the status waits (bounded) until the killed are gone.
  'if [ -n "$pids" ]; then for ((i = 0; i < 50; i++)); do if [ -z "$(marked)" ]; then break; fi; sleep 0.1; done; fi',
  'printf "%s\\n" "$code" > "$2.tmp" && mv -f "$2.tmp" "$2"; exit "$code"',
].join('\n');

/**
 * Runs jobs as detached local processes so the whole system works on a machine without a
 * scheduler (`npm start`). State is on disk, so a restarted worker, or another process sharing the
 * state dir, sees the same jobs.
 */
export class LocalScheduler implements Scheduler {
  readonly kind = 'local' as const;
  private readonly jobsDir: string;
  private readonly killGraceMs: number;
  private readonly bashPath: string;

  constructor(options: LocalSchedulerOptions) {
    if (!isAbsolute(options.stateDir)) {
      throw new SchedulerError('REJECTED', `stateDir must be an absolute path, got ${options.stateDir}`);
    }
    this.jobsDir = join(options.stateDir, 'local-jobs');
    this.killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    this.bashPath = options.bashPath ?? '/bin/bash';
  }

  async submit(req: SubmitRequest): Promise<string> {
    if (!isAbsolute(req.jobDir)) {
      throw new SchedulerError(
        'REJECTED',
        `jobDir must be an absolute path, got ${JSON.stringify(req.jobDir)}`,
      );
    }
    await mkdir(this.jobsDir, { recursive: true });
    const scriptPath = join(req.jobDir, 'job.sh');
    await writeJobScript(scriptPath, req.script);

    const jobId = this.claimJobId();
    const recordDir = join(this.jobsDir, jobId);
    const env = {
      ...req.env,
      SLURM_JOB_ID: jobId,
      SLURM_JOB_NAME: req.jobName,
      SLURMD_NODENAME: 'localhost',
      // The record dir, not the id: two state dirs on one machine both count from 1000.
      [LOCAL_JOB_MARKER]: recordDir,
    };
    let pid: number;
    try {
      pid = await this.start(scriptPath, join(recordDir, 'exit'), req, env);
    } catch (error) {
      // The id stays claimed (ids never go back) but the job never existed: record it as failed.
      writeJsonAtomic(join(recordDir, 'job.json'), record(jobId, req, 0));
      writeFileSync(join(recordDir, 'exit'), '127\n');
      throw error;
    }
    writeJsonAtomic(join(recordDir, 'job.json'), record(jobId, req, pid));
    return jobId;
  }

  async cancel(jobId: string): Promise<void> {
    const job = this.readRecord(jobId);
    if (!job) return;
    if (this.exitStatus(jobId) !== undefined) return;
    // The script's children share the wrapper's process group, unless they left it (setsid, a
    // double fork into a session of their own); all of them carry the job's marker. The job is over
    // when neither is left.
    const marker = `${LOCAL_JOB_MARKER}=${join(this.jobsDir, jobId)}`;
    if (!this.wrapperAlive(job)) {
      // Killed from outside before it could clean up: what it started may still run, reparented.
      await this.reapMarked(marker);
      return;
    }
    if (!job.cancelled) this.writeRecord({ ...job, cancelled: true });
    const alive = (): boolean => groupExists(job.pid) || markedPids(marker).length > 0;
    signalGroup(job.pid, 'SIGTERM');
    signalPids(markedPids(marker), 'SIGTERM');
    const deadline = Date.now() + this.killGraceMs;
    while (alive() && Date.now() < deadline) await sleep(POLL_MS);
    if (!alive()) return;
    signalGroup(job.pid, 'SIGKILL');
    signalPids(markedPids(marker), 'SIGKILL');
    // Bounded: zombies keep a group visible until their parent reaps them, which is not ours to do.
    // SIGKILL is delivered asynchronously: the job is over once the marked processes are gone too.
    const killDeadline = Date.now() + this.killGraceMs;
    while ((this.wrapperAlive(job) || markedPids(marker).length > 0) && Date.now() < killDeadline)
      await sleep(POLL_MS);
    if (this.wrapperAlive(job)) {
      throw new SchedulerError('UNAVAILABLE', `local job ${jobId} (pid ${job.pid}) survived SIGKILL`);
    }
  }

  private async reapMarked(marker: string): Promise<void> {
    signalPids(markedPids(marker), 'SIGTERM');
    const deadline = Date.now() + this.killGraceMs;
    while (markedPids(marker).length > 0 && Date.now() < deadline) await sleep(POLL_MS);
    signalPids(markedPids(marker), 'SIGKILL');
    const killDeadline = Date.now() + this.killGraceMs;
    while (markedPids(marker).length > 0 && Date.now() < killDeadline) await sleep(POLL_MS);
  }

  /** Cancels every job still running; how `npm start` stops the workloads it launched. */
  async cancelAll(): Promise<number> {
    const running = this.jobIds().filter((jobId) => {
      const job = this.readRecord(jobId);
      return job !== undefined && this.exitStatus(jobId) === undefined && this.wrapperAlive(job);
    });
    await Promise.all(running.map((jobId) => this.cancel(jobId)));
    return running.length;
  }

  query(jobIds: readonly string[]): Promise<Map<string, JobInfo>> {
    return settled(() => {
      const found = new Map<string, JobInfo>();
      for (const jobId of new Set(jobIds)) {
        const job = this.readRecord(jobId);
        if (job) found.set(jobId, this.info(job));
      }
      return found;
    });
  }

  findByName(jobName: string): Promise<JobInfo | undefined> {
    return settled(() => {
      let newest: LocalJobRecord | undefined;
      for (const jobId of this.jobIds()) {
        const job = this.readRecord(jobId);
        if (job?.name === jobName && (!newest || Number(job.jobId) > Number(newest.jobId))) newest = job;
      }
      return newest && this.info(newest);
    });
  }

  listByNamePrefix(prefix: string): Promise<JobInfo[]> {
    return settled(() => {
      const found: JobInfo[] = [];
      for (const jobId of this.jobIds()) {
        const job = this.readRecord(jobId);
        if (job?.name.startsWith(prefix)) found.push({ ...this.info(job), workDir: job.jobDir });
      }
      return found;
    });
  }

  /** Jobs start when submitted: there is no queue to estimate. */
  estimateStart(_jobDir: string): Promise<string | undefined> {
    return Promise.resolve(undefined);
  }

  async ping(): Promise<void> {
    try {
      await mkdir(this.jobsDir, { recursive: true });
      await access(this.jobsDir, fsConstants.W_OK);
    } catch (error) {
      throw new SchedulerError('UNAVAILABLE', `local job state dir ${this.jobsDir} is not writable`, {
        cause: error,
      });
    }
  }

  private start(
    scriptPath: string,
    exitFile: string,
    req: SubmitRequest,
    env: Record<string, string>,
  ): Promise<number> {
    const out = openJobLog(req.stdoutPath);
    const err = req.stderrPath === req.stdoutPath ? out : openJobLog(req.stderrPath);
    try {
      const graceSeconds = String(Math.ceil(this.killGraceMs / 1000));
      const child = spawn(this.bashPath, ['-c', WRAPPER, '_', scriptPath, exitFile, graceSeconds], {
        cwd: req.jobDir,
        env,
        // Its own session and process group: cancel signals the whole job, and the job survives
        // a restart of this process.
        detached: true,
        stdio: ['ignore', out, err],
      });
      child.unref();
      return new Promise<number>((resolve, reject) => {
        child.once('spawn', () => {
          if (child.pid === undefined)
            reject(new SchedulerError('UNAVAILABLE', 'local job started without a pid'));
          else resolve(child.pid);
        });
        child.once('error', (error) => {
          reject(
            new SchedulerError('UNAVAILABLE', `cannot start ${this.bashPath}: ${error.message}`, {
              cause: error,
            }),
          );
        });
      });
    } finally {
      closeSync(out);
      if (err !== out) closeSync(err);
    }
  }

  /**
   * Claims the next id by creating its directory: mkdir is atomic, so two processes sharing the
   * state dir never get the same id. The counter file only saves scanning; it may lag behind.
   */
  private claimJobId(): string {
    const counterFile = join(this.jobsDir, 'next-id');
    let id = this.readCounter(counterFile);
    for (;;) {
      try {
        mkdirSync(join(this.jobsDir, String(id)));
        writeFileAtomic(counterFile, `${id + 1}\n`);
        return String(id);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        id++;
      }
    }
  }

  private readCounter(counterFile: string): number {
    try {
      const value = Number(readFileSync(counterFile, 'utf8').trim());
      if (Number.isSafeInteger(value) && value >= FIRST_JOB_ID) return value;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    // No usable counter: continue after the highest id on disk.
    return Math.max(FIRST_JOB_ID, ...this.jobIds().map((id) => Number(id) + 1));
  }

  private jobIds(): string[] {
    try {
      return readdirSync(this.jobsDir).filter((name) => /^\d+$/.test(name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  private readRecord(jobId: string): LocalJobRecord | undefined {
    if (!/^\d+$/.test(jobId)) return undefined;
    const file = join(this.jobsDir, jobId, 'job.json');
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      // ENOENT also covers a job whose id is claimed but whose process is still being started.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      return parseJsonRecord(file, localJobRecordSchema, text);
    } catch (error) {
      // Callers handle the scheduler's own errors; the record's path and problem stay in the message.
      if (error instanceof CorruptRecordError)
        throw new SchedulerError('PARSE', error.message, { cause: error });
      throw error;
    }
  }

  private writeRecord(job: LocalJobRecord): void {
    writeJsonAtomic(join(this.jobsDir, job.jobId, 'job.json'), job);
  }

  private exitStatus(jobId: string): number | undefined {
    try {
      const value = Number(readFileSync(join(this.jobsDir, jobId, 'exit'), 'utf8').trim());
      return Number.isInteger(value) ? value : 1;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** Alive and still our wrapper: a pid recycled after a reboot must not keep a job running. */
  private wrapperAlive(job: LocalJobRecord): boolean {
    if (job.pid <= 0 || !processExists(job.pid)) return false;
    const cmdline = readProc(job.pid, 'cmdline');
    // Without /proc (not Linux) the pid check is all there is.
    if (cmdline === undefined) return true;
    return cmdline.split('\0').includes(join(this.jobsDir, job.jobId, 'exit'));
  }

  private info(job: LocalJobRecord): JobInfo {
    let exitCode = this.exitStatus(job.jobId);
    // The wrapper writes the status and then exits: one that ended between the read above and
    // the liveness check below left its status behind, and the job must not read as vanished.
    if (exitCode === undefined && !job.cancelled && !this.wrapperAlive(job))
      exitCode = this.exitStatus(job.jobId);
    let state: JobState;
    const info: JobInfo = { jobId: job.jobId, name: job.name, state: 'RUNNING', nodes: ['localhost'] };
    // No queue and no time limit here: a job starts the moment it is submitted and runs until it
    // ends, so there is no position, estimate or limit to report.
    if (job.pid > 0) {
      info.submittedAt = job.submittedAt;
      info.startedAt = job.submittedAt;
    }
    if (job.cancelled) {
      state = this.wrapperAlive(job) ? 'RUNNING' : 'CANCELLED';
    } else if (exitCode !== undefined) {
      state = exitCode === 0 ? 'COMPLETED' : 'FAILED';
      info.exitCode = exitCode;
      if (exitCode !== 0) info.reason = 'NonZeroExitCode';
    } else if (this.wrapperAlive(job)) {
      state = 'RUNNING';
    } else {
      // Killed from outside, or the machine restarted under it: the status is lost.
      state = 'FAILED';
      info.reason = 'ProcessVanished';
    }
    info.state = state;
    return info;
  }
}

function record(jobId: string, req: SubmitRequest, pid: number): LocalJobRecord {
  return {
    jobId,
    name: req.jobName,
    pid,
    jobDir: req.jobDir,
    submittedAt: new Date().toISOString(),
    cancelled: false,
  };
}

function writeFileAtomic(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie still answers kill(0); it is dead for our purposes.
  const stat = readProc(pid, 'stat');
  const state = stat?.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Whether any live process remains in the group. Zombies are ignored: orphans are reaped by init,
 * which in a container may be slow (over a second here) or never happen.
 */
function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return true; // No /proc: the signal check is all there is.
  }
  return pids.some((pid) => {
    const stat = readProc(Number(pid), 'stat');
    if (stat === undefined) return false;
    // Fields after the command name: state, ppid, pgrp, ...
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return pgrp === String(pgid) && state !== 'Z' && state !== 'X';
  });
}

/** Live processes (zombies have no environment) whose environment holds `marker` (NAME=value). */
function markedPids(marker: string): number[] {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return []; // No /proc: the process group is all there is.
  }
  return pids
    .map(Number)
    .filter((pid) => pid !== process.pid && readProc(pid, 'environ')?.split('\0').includes(marker) === true);
}

function signalPids(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // Gone since it was listed, or not ours to signal.
    }
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Reads are synchronous; a corrupt record must still reject the promise, not throw before there is one.
function settled<T>(read: () => T): Promise<T> {
  try {
    return Promise.resolve(read());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}
