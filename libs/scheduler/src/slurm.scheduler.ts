import { open } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { CommandResult, CommandRunner } from './command.runner';
import { writeJobScript } from './job-script.writer';
import { queuePositions, type PendingJob } from './queue-position.rules';
import { SchedulerError } from './scheduler.errors';
import type { JobInfo, Scheduler, SubmitRequest } from './scheduler.types';
import {
  jobCompInfo,
  parseSbatchParsable,
  parseScontrolRecord,
  parseScontrolShowJob,
  parseSqueueLine,
  parseSqueueListLine,
  parseSqueueQueueLine,
  parseTestOnlyStart,
  SQUEUE_FORMAT,
  SQUEUE_LIST_FORMAT,
  SQUEUE_QUEUE_FORMAT,
  squeueLineJobId,
  squeuePendingJob,
  squeueLineName,
  squeueListLineName,
} from './slurm.parsers';

export interface SlurmSchedulerOptions {
  /** Restricts squeue to this user; without it squeue is asked for `--me` (SLURM ≥ 20.11). */
  user?: string;
  commandTimeoutMs?: number;
  /**
   * The jobcomp/filetxt log `finishedJob` reads; null for none. When absent it is taken from
   * `scontrol show config` (JobCompType=jobcomp/filetxt, JobCompLoc) the first time it is needed.
   */
  jobCompFile?: string | null;
}

const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;
// The log grows by one line (~500 bytes) per job for ever; the jobs a poll asks about ended
// recently, so the end of it is enough.
const JOBCOMP_TAIL_BYTES = 16 * 1024 * 1024;
const JOB_ID = /^\d+$/;

// Messages the SLURM clients print when slurmctld (or munge, which every RPC needs) cannot be
// reached or is overloaded: all worth a retry, unlike a refusal.
const UNAVAILABLE_PATTERNS = [
  /unable to contact slurm controller/i,
  /socket timed out/i,
  /connection refused/i,
  /connection timed out/i,
  /zero bytes were transmitted/i,
  /communication connection failure/i,
  /slurm_receive_msg/i,
  /backup controller in standby mode/i,
  /resource temporarily unavailable/i,
  /slurmctld.*(down|not responding)/i,
  /munge/i,
  /unable to establish slurm configuration/i,
  /could not establish a configuration source/i,
];
const INVALID_JOB_ID = /invalid job id specified/i;
const ALREADY_DONE = /already complet|job has already finished|job\/step already completing or completed/i;

export function classifySlurmFailure(command: string, result: CommandResult): SchedulerError {
  const output = (result.stderr.trim() || result.stdout.trim()).slice(0, 2000);
  const message = `${command} failed (exit ${result.exitCode}): ${output || 'no output'}`;
  const unavailable = UNAVAILABLE_PATTERNS.some((pattern) => pattern.test(output));
  return new SchedulerError(unavailable ? 'UNAVAILABLE' : 'REJECTED', message);
}

/**
 * SLURM through its command-line clients, text formats only, so one adapter serves 22.05 and every
 * later release (their JSON output differs between versions; squeue --json of 22.05 ignores -j).
 */
export class SlurmScheduler implements Scheduler {
  readonly kind = 'slurm' as const;
  private readonly timeoutMs: number;
  private readonly userFilter: string;
  private expectedUser: string | null | undefined;
  /** Set when a command found the controller unreachable; cleared by the first ping that finds it up. */
  private controllerDown = false;
  private jobCompFile: string | null | undefined;

  constructor(
    private readonly runner: CommandRunner,
    private readonly options: SlurmSchedulerOptions = {},
  ) {
    this.timeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.userFilter = options.user ? `--user=${options.user}` : '--me';
    this.jobCompFile = options.jobCompFile;
  }

  async submit(req: SubmitRequest): Promise<string> {
    assertAbsoluteDir(req.jobDir);
    const scriptPath = join(req.jobDir, 'job.sh');
    await writeJobScript(scriptPath, req.script);
    // The job inherits sbatch's environment (the job's complete environment, passed as argv-free
    // process env so no value is ever parsed by a shell) and its working directory. --export=ALL
    // on the command line beats an SBATCH_EXPORT that the job's environment might carry.
    const result = await this.run('sbatch', ['--parsable', '--export=ALL', scriptPath], {
      env: req.env,
      cwd: req.jobDir,
    });
    if (result.exitCode !== 0) throw this.failure('sbatch', result);
    return parseSbatchParsable(result.stdout);
  }

  async estimateStart(jobDir: string): Promise<string | undefined> {
    assertAbsoluteDir(jobDir);
    // The script's #SBATCH lines carry the request; --test-only asks the controller and submits
    // nothing. 22.05 prints its answer on stderr.
    const result = await this.run('sbatch', ['--test-only', join(jobDir, 'job.sh')], { cwd: jobDir });
    if (result.exitCode !== 0) throw this.failure('sbatch --test-only', result);
    return parseTestOnlyStart(`${result.stderr}\n${result.stdout}`);
  }

  async cancel(jobId: string): Promise<void> {
    assertJobId(jobId);
    const result = await this.run('scancel', [jobId]);
    if (result.exitCode === 0) return;
    // 22.05 exits 0 for unknown or finished jobs; later releases may say so with a nonzero exit.
    const output = `${result.stderr}\n${result.stdout}`;
    if (INVALID_JOB_ID.test(output) || ALREADY_DONE.test(output)) return;
    throw this.failure('scancel', result);
  }

  async query(jobIds: readonly string[]): Promise<Map<string, JobInfo>> {
    const wanted = new Set(jobIds.filter((id) => JOB_ID.test(id)));
    const found = new Map<string, JobInfo>();
    if (wanted.size === 0) return found;
    // One squeue for all ids: listing the jobs is one RPC however many ids are asked for, and
    // unlike --jobs it does not fail when one of them has been purged. It lists every user's jobs,
    // since a pending job's place in the queue depends on theirs; ours are picked out by owner.
    const stdout = await this.squeue([], SQUEUE_QUEUE_FORMAT);
    const owner = this.options.user ?? this.ownUser();
    const pending: PendingJob[] = [];
    for (const line of stdout.split('\n')) {
      const queued = squeuePendingJob(line);
      if (queued) pending.push(queued);
      // Only the requested lines are parsed: any other job, in a state this adapter does not
      // know, must not break the poll of ours.
      if (!wanted.has(squeueLineJobId(line))) continue;
      const { info, user } = parseSqueueQueueLine(line);
      // After slurmctld loses its state job ids start again: the id may be another user's job now.
      if (owner === null || user === owner) found.set(info.jobId, info);
    }
    const positions = queuePositions(
      pending,
      [...found.values()].filter((info) => info.state === 'PENDING').map((info) => info.jobId),
    );
    for (const [id, position] of positions) {
      const info = found.get(id);
      if (info) info.queuePosition = position;
    }
    for (const id of wanted) {
      if (found.has(id)) continue;
      const info = await this.showJob(id);
      if (info) found.set(id, info);
    }
    return found;
  }

  async findByName(jobName: string): Promise<JobInfo | undefined> {
    if (jobName === '') return undefined;
    const stdout = await this.squeue([this.userFilter, `--name=${jobName}`]);
    let newest: JobInfo | undefined;
    for (const line of stdout.split('\n')) {
      // --name takes a comma-separated list; the exact comparison keeps a name containing a comma exact.
      if (squeueLineName(line) !== jobName) continue;
      const info = parseSqueueLine(line);
      if (!newest || BigInt(info.jobId) > BigInt(newest.jobId)) newest = info;
    }
    return newest;
  }

  async listByNamePrefix(prefix: string): Promise<JobInfo[]> {
    // squeue filters names only exactly, so the prefix is matched here; only matching lines are
    // parsed, so another job of the user in a state this adapter does not know cannot break it.
    const stdout = await this.squeue([this.userFilter], SQUEUE_LIST_FORMAT);
    return stdout
      .split('\n')
      .filter((line) => squeueListLineName(line)?.startsWith(prefix) === true)
      .map(parseSqueueListLine);
  }

  async finishedJob(jobId: string, workDir: string): Promise<JobInfo | undefined> {
    if (!JOB_ID.test(jobId)) return undefined;
    const file = await this.completionLog();
    if (file === null) return undefined;
    let text: string;
    try {
      text = await readTail(file, JOBCOMP_TAIL_BYTES);
    } catch {
      // Usually on the controller's host only: no evidence here, not an error.
      return undefined;
    }
    const dir = resolve(workDir);
    const user = this.ownUser();
    let found: JobInfo | undefined;
    for (const line of text.split('\n')) {
      if (!line.startsWith(`JobId=${jobId} `)) continue;
      const info = jobCompInfo(line);
      // Ids start again after the controller loses its state: the directory tells our job apart.
      if (info?.workDir === undefined || resolve(info.workDir) !== dir) continue;
      if (user !== null && info.user !== undefined && info.user !== user) continue;
      const { workDir: _dir, user: _user, ...jobInfo } = info;
      found = jobInfo;
    }
    return found;
  }

  async ping(): Promise<void> {
    let result: CommandResult;
    try {
      result = await this.exec('scontrol', ['ping']);
    } catch (error) {
      this.controllerDown = true;
      throw error;
    }
    // With a backup controller one line per controller; any controller answering is enough.
    if (/ is UP\b/.test(result.stdout)) {
      this.controllerDown = false;
      return;
    }
    this.controllerDown = true;
    // Only the per-controller lines: scontrol follows them with a banner of asterisks.
    const controllers = result.stdout.split('\n').filter((line) => /^Slurmctld\(/.test(line.trim()));
    const detail = (
      controllers.map((line) => line.trim()).join('; ') ||
      result.stderr.trim() ||
      `exit ${result.exitCode}`
    ).slice(0, 2000);
    throw new SchedulerError('UNAVAILABLE', `slurmctld does not answer: ${detail}`);
  }

  private async squeue(filters: readonly string[], format = SQUEUE_FORMAT): Promise<string> {
    const result = await this.run('squeue', ['--noheader', '--states=all', ...filters, `--Format=${format}`]);
    if (result.exitCode !== 0) throw this.failure('squeue', result);
    return result.stdout;
  }

  private async completionLog(): Promise<string | null> {
    if (this.jobCompFile !== undefined) return this.jobCompFile;
    const result = await this.run('scontrol', ['show', 'config']);
    if (result.exitCode !== 0) throw this.failure('scontrol show config', result);
    const type = /^JobCompType\s*=\s*(\S+)/m.exec(result.stdout)?.[1];
    const location = /^JobCompLoc\s*=\s*(\S.*)$/m.exec(result.stdout)?.[1]?.trim();
    this.jobCompFile =
      type === 'jobcomp/filetxt' && location !== undefined && isAbsolute(location) ? location : null;
    return this.jobCompFile;
  }

  /** Finished jobs squeue no longer lists; scontrol still knows them until MinJobAge passes. */
  private async showJob(jobId: string): Promise<JobInfo | undefined> {
    const result = await this.run('scontrol', ['show', 'job', jobId]);
    if (result.exitCode !== 0) {
      if (INVALID_JOB_ID.test(result.stderr)) return undefined;
      throw this.failure('scontrol show job', result);
    }
    const record = parseScontrolRecord(result.stdout);
    // After slurmctld loses its state job ids start again, so the id may now belong to someone
    // else's job, which squeue (restricted to our user) rightly did not list.
    const owner = record?.get('UserId')?.replace(/\(.*$/, '');
    const expected = this.ownUser();
    if (owner !== undefined && expected !== null && owner !== expected) return undefined;
    return parseScontrolShowJob(result.stdout);
  }

  private ownUser(): string | null {
    if (this.expectedUser === undefined) {
      try {
        this.expectedUser = this.options.user ?? userInfo().username;
      } catch {
        // No passwd entry (some containers): skip the ownership check rather than fail every query.
        this.expectedUser = null;
      }
    }
    return this.expectedUser;
  }

  /**
   * SLURM's clients wait out their own retry loop (about MessageTimeout, 9 s by default) before
   * reporting an unreachable controller, while `scontrol ping` fails in milliseconds. So once one
   * command found the controller away, each later call pings first until a ping finds it back:
   * during an outage callers learn it at once (a create is answered in seconds, not after the
   * gateway's timeout), and in normal operation no ping is spent.
   */
  private async run(
    command: string,
    args: readonly string[],
    options: { env?: Record<string, string>; cwd?: string } = {},
  ): Promise<CommandResult> {
    if (this.controllerDown) await this.ping();
    try {
      return await this.exec(command, args, options);
    } catch (error) {
      if (error instanceof SchedulerError && error.code === 'UNAVAILABLE') this.controllerDown = true;
      throw error;
    }
  }

  private failure(command: string, result: CommandResult): SchedulerError {
    const error = classifySlurmFailure(command, result);
    if (error.code === 'UNAVAILABLE') this.controllerDown = true;
    return error;
  }

  private exec(
    command: string,
    args: readonly string[],
    options: { env?: Record<string, string>; cwd?: string } = {},
  ): Promise<CommandResult> {
    return this.runner.run(command, args, { ...options, timeoutMs: this.timeoutMs });
  }
}

/** The last `bytes` of a file, from the first whole line on. */
async function readTail(file: string, bytes: number): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, bytes);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const text = buffer.toString('utf8');
    return length < size ? text.slice(text.indexOf('\n') + 1) : text;
  } finally {
    await handle.close();
  }
}

function assertAbsoluteDir(jobDir: string): void {
  if (!isAbsolute(jobDir)) {
    throw new SchedulerError('REJECTED', `jobDir must be an absolute path, got ${JSON.stringify(jobDir)}`);
  }
}

function assertJobId(jobId: string): void {
  if (!JOB_ID.test(jobId)) {
    throw new SchedulerError('REJECTED', `not a SLURM job id: ${JSON.stringify(jobId)}`);
  }
}
