import { isJobState, isTerminalJobState, type JobState } from '@aiplane/contracts';
import { SchedulerError } from './scheduler.errors';
import type { PendingJob } from './queue-position.rules';
import type { JobInfo } from './scheduler.types';

/**
 * Field separator of {@link SQUEUE_FORMAT}. A control character cannot appear in job ids, states,
 * node lists or reasons, and the name (the one free-text field) comes last, so even a name that
 * contained it would survive.
 */
export const SQUEUE_DELIMITER = '\x1f';

/**
 * `squeue --Format` (-O) rather than `--format` (-o): only -O exposes the exit code. A width of 0
 * means "no padding, no truncation" (squeue's print.c), which -O has supported since 14.x; the
 * suffix after the width is printed verbatim and serves as the delimiter.
 */
export const SQUEUE_FORMAT = [
  `JobID:0${SQUEUE_DELIMITER}`,
  `State:0${SQUEUE_DELIMITER}`,
  `exit_code:0${SQUEUE_DELIMITER}`,
  `NodeList:0${SQUEUE_DELIMITER}`,
  `Reason:0${SQUEUE_DELIMITER}`,
  'Name:0',
].join(',');
const SQUEUE_FIELD_COUNT = 6;

// squeue's compact codes and the long names squeue, scontrol and sacct print (SLURM 22.05+).
const STATE_CODES: Readonly<Record<string, string>> = {
  BF: 'BOOT_FAIL',
  CA: 'CANCELLED',
  CD: 'COMPLETED',
  CF: 'CONFIGURING',
  CG: 'COMPLETING',
  DL: 'DEADLINE',
  F: 'FAILED',
  NF: 'NODE_FAIL',
  OOM: 'OUT_OF_MEMORY',
  PD: 'PENDING',
  PR: 'PREEMPTED',
  R: 'RUNNING',
  RD: 'RESV_DEL_HOLD',
  RF: 'REQUEUE_FED',
  RH: 'REQUEUE_HOLD',
  RQ: 'REQUEUED',
  RS: 'RESIZING',
  RV: 'REVOKED',
  SI: 'SIGNALING',
  SE: 'SPECIAL_EXIT',
  SO: 'STAGE_OUT',
  ST: 'STOPPED',
  S: 'SUSPENDED',
  TO: 'TIMEOUT',
};

/**
 * SLURM prints a state flag instead of the base state when one is set; each flag maps to the
 * contract state a user would recognise. Held and requeued flags stay non-terminal because the job
 * can still run (terminal states are final in the contract); launch and reconfiguration failures
 * are reported as failures.
 */
const FLAG_STATES: Readonly<Record<string, JobState>> = {
  RESV_DEL_HOLD: 'PENDING',
  REQUEUE_FED: 'REQUEUED',
  REQUEUE_HOLD: 'REQUEUED',
  SPECIAL_EXIT: 'REQUEUED',
  EXPEDITING: 'PENDING',
  UPDATE_DB: 'PENDING',
  POWER_UP_NODE: 'CONFIGURING',
  RESIZING: 'RUNNING',
  SIGNALING: 'RUNNING',
  STAGE_OUT: 'COMPLETING',
  STOPPED: 'SUSPENDED',
  REVOKED: 'CANCELLED',
  LAUNCH_FAILED: 'FAILED',
  RECONFIG_FAIL: 'FAILED',
};

/** Every state spelling {@link normaliseSlurmState} accepts, for tests and diagnostics. */
export const KNOWN_SLURM_STATES: readonly string[] = [
  ...Object.keys(STATE_CODES),
  ...new Set([...Object.values(STATE_CODES), ...Object.keys(FLAG_STATES)]),
];

export function normaliseSlurmState(raw: string): JobState {
  // "CANCELLED by 0" (sacct), "CANCELLED+" (sacct), "RUNNING,COMPLETING" (flag lists): the first word wins.
  const word = (raw.trim().split(/[\s+,]/)[0] ?? '').toUpperCase();
  const long = STATE_CODES[word] ?? word;
  const mapped = FLAG_STATES[long] ?? long;
  if (isJobState(mapped)) return mapped;
  throw new SchedulerError('PARSE', `unknown SLURM job state ${JSON.stringify(raw)}`);
}

/** `sbatch --parsable` prints `<id>` or `<id>;<cluster>`. */
export function parseSbatchParsable(stdout: string): string {
  const lines = stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const last = lines[lines.length - 1] ?? '';
  const match = /^(?:Submitted batch job )?(\d+)(?:;\S*)?$/.exec(last);
  if (!match?.[1]) {
    throw new SchedulerError('PARSE', `sbatch printed no job id: ${JSON.stringify(stdout.slice(0, 200))}`);
  }
  return match[1];
}

const MAX_HOSTS = 100_000;
const EMPTY_NODE_LISTS = new Set(['', '(null)', 'None assigned', 'n/a', 'N/A']);

/** Expands a SLURM hostlist expression: `node[001-003,007],gpu01` → node001 node002 node003 node007 gpu01. */
export function expandHostlist(expr: string): string[] {
  const trimmed = expr.trim();
  if (EMPTY_NODE_LISTS.has(trimmed)) return [];
  const hosts: string[] = [];
  for (const item of splitTopLevel(trimmed, expr)) {
    for (const host of expandItem(item, expr)) {
      hosts.push(host);
      if (hosts.length > MAX_HOSTS) {
        throw new SchedulerError('PARSE', `hostlist expands to more than ${MAX_HOSTS} hosts: ${expr}`);
      }
    }
  }
  return hosts;
}

function splitTopLevel(text: string, whole: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '[') depth++;
    else if (ch === ']') depth--;
    if (depth < 0 || depth > 1) throw hostlistError(whole);
    if (ch === ',' && depth === 0) {
      items.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) throw hostlistError(whole);
  items.push(text.slice(start));
  if (items.some((item) => item === '')) throw hostlistError(whole);
  return items;
}

function expandItem(item: string, whole: string): string[] {
  const open = item.indexOf('[');
  if (open === -1) {
    if (item.includes(']')) throw hostlistError(whole);
    return [item];
  }
  const close = item.indexOf(']', open);
  const prefix = item.slice(0, open);
  if (close === -1 || prefix.includes(']')) throw hostlistError(whole);
  const values = expandRanges(item.slice(open + 1, close), whole);
  const rest = expandItem(item.slice(close + 1), whole);
  const out: string[] = [];
  for (const value of values) {
    for (const suffix of rest) {
      out.push(prefix + value + suffix);
      if (out.length > MAX_HOSTS) {
        throw new SchedulerError('PARSE', `hostlist expands to more than ${MAX_HOSTS} hosts: ${whole}`);
      }
    }
  }
  return out;
}

function expandRanges(body: string, whole: string): string[] {
  const out: string[] = [];
  for (const part of body.split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!match?.[1]) throw hostlistError(whole);
    const low = match[1];
    const high = match[2] ?? low;
    const from = Number(low);
    const to = Number(high);
    if (to < from || to - from > MAX_HOSTS) throw hostlistError(whole);
    // Zero padding follows the lower bound: node[08-10] → node08 node09 node10.
    for (let n = from; n <= to; n++) out.push(String(n).padStart(low.length, '0'));
  }
  return out;
}

function hostlistError(expr: string): SchedulerError {
  return new SchedulerError('PARSE', `not a SLURM hostlist: ${JSON.stringify(expr)}`);
}

/**
 * SLURM's exit code: squeue -O exit_code prints the raw wait status (`768` = exit 3, `15` =
 * signal 15), scontrol prints `exit:signal`. A signal is reported the way a shell reports it (128 +
 * signal), which is also what the local scheduler records.
 */
export function decodeSlurmExitCode(raw: string): number | undefined {
  const text = raw.trim();
  const pair = /^(\d+):(\d+)$/.exec(text);
  if (pair?.[1] && pair[2]) {
    const signal = Number(pair[2]);
    return signal > 0 ? 128 + signal : Number(pair[1]);
  }
  if (!/^\d+$/.test(text)) return undefined;
  const status = Number(text);
  const signal = status & 0x7f;
  return signal > 0 ? 128 + signal : (status >> 8) & 0xff;
}

function reasonOf(raw: string | undefined): string | undefined {
  return raw === undefined || raw === '' || raw === 'None' || raw === '(null)' ? undefined : raw;
}

/** The timing and queue fields squeue -O and scontrol both print, raw. */
interface QueueFields {
  partition?: string | undefined;
  priority?: string | undefined;
  startTime?: string | undefined;
  submitTime?: string | undefined;
  timeLimit?: string | undefined;
}

function jobInfo(
  fields: {
    jobId: string;
    name: string;
    state: JobState;
    nodes: string;
    reason: string | undefined;
    exitCode: string | undefined;
  } & QueueFields,
): JobInfo {
  const info: JobInfo = {
    jobId: fields.jobId,
    name: fields.name,
    state: fields.state,
    nodes: expandHostlist(fields.nodes),
  };
  const reason = reasonOf(fields.reason);
  if (reason !== undefined) info.reason = reason;
  // A running job's exit code is a placeholder 0; it only means something once the job ended.
  if (isTerminalJobState(fields.state) && fields.exitCode !== undefined) {
    const exitCode = decodeSlurmExitCode(fields.exitCode);
    if (exitCode !== undefined) info.exitCode = exitCode;
  }
  addQueueFields(info, fields);
  return info;
}

function addQueueFields(info: JobInfo, fields: QueueFields): void {
  const partition = reasonOf(fields.partition);
  if (partition !== undefined) info.partition = partition;
  const priority = fields.priority === undefined ? undefined : Number(fields.priority);
  if (priority !== undefined && fields.priority !== '' && Number.isFinite(priority)) info.priority = priority;
  const submitted = parseSlurmTime(fields.submitTime);
  if (submitted !== undefined) info.submittedAt = submitted;
  const start = parseSlurmTime(fields.startTime);
  // A pending job's start time is the scheduler's estimate. A job cancelled while pending gets its
  // end time as start time but never had a node, so only a job with nodes has really started.
  if (start !== undefined && info.state === 'PENDING') info.estimatedStart = start;
  else if (start !== undefined && info.nodes.length > 0) info.startedAt = start;
  const limit = parseSlurmDuration(fields.timeLimit);
  if (limit !== undefined) info.timeLimitSeconds = limit;
}

/**
 * `sbatch --test-only`'s answer, `sbatch: Job 2597 to start at 2026-12-04T07:13:20 using 1 processors on
 * nodes vm in partition debug`, as the start time (ISO 8601); undefined when it names none.
 */
export function parseTestOnlyStart(output: string, nowMs = Date.now()): string | undefined {
  const start = parseSlurmTime(/\bto start at (\S+)/.exec(output)?.[1]);
  // A time years ahead is SLURM having no plan for the job, not a plan.
  if (start === undefined || Date.parse(start) - nowMs > NO_ESTIMATE_BEYOND_MS) return undefined;
  return start;
}

const NO_ESTIMATE_BEYOND_MS = 365 * 24 * 3_600_000;

/**
 * SLURM's default time format, `2026-12-03T22:18:45` in the local time zone of the client that
 * printed it (this process's, since it ran the client), as ISO 8601 with an offset. Anything else
 * (N/A, Unknown, None, a site's SLURM_TIME_FORMAT) is no time rather than a wrong one.
 */
export function parseSlurmTime(raw: string | undefined): string | undefined {
  const text = raw?.trim() ?? '';
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(text)) return undefined;
  // Without an offset, Date reads a date-time as local time, as SLURM printed it.
  const time = new Date(text);
  return Number.isNaN(time.getTime()) ? undefined : time.toISOString();
}

/**
 * A SLURM duration as squeue and scontrol print it: `[days-][hours:]minutes:seconds` (`2:00` is two
 * minutes, `1:00:00` an hour, `1-00:00:00` a day). UNLIMITED, NOT_SET, INVALID and the like are no limit.
 */
export function parseSlurmDuration(raw: string | undefined): number | undefined {
  const match = /^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)$/.exec(raw?.trim() ?? '');
  if (!match) return undefined;
  const [, days = '0', hours = '0', minutes = '0', seconds = '0'] = match;
  return ((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60 + Number(seconds);
}

/** The job id of one {@link SQUEUE_FORMAT} line, without parsing the rest. */
export function squeueLineJobId(line: string): string {
  const end = line.indexOf(SQUEUE_DELIMITER);
  return end === -1 ? '' : line.slice(0, end);
}

/** The name of one {@link SQUEUE_FORMAT} line (everything after the fifth delimiter). */
export function squeueLineName(line: string): string | undefined {
  const fields = line.split(SQUEUE_DELIMITER);
  return fields.length < SQUEUE_FIELD_COUNT
    ? undefined
    : fields.slice(SQUEUE_FIELD_COUNT - 1).join(SQUEUE_DELIMITER);
}

export function parseSqueueLine(line: string): JobInfo {
  const fields = line.split(SQUEUE_DELIMITER);
  if (fields.length < SQUEUE_FIELD_COUNT) {
    throw new SchedulerError('PARSE', `unexpected squeue line ${JSON.stringify(line.slice(0, 200))}`);
  }
  const [jobId = '', state = '', exitCode = '', nodes = '', reason = ''] = fields;
  if (!/^\d+$/.test(jobId)) {
    throw new SchedulerError('PARSE', `unexpected squeue job id ${JSON.stringify(jobId)}`);
  }
  return jobInfo({
    jobId,
    state: normaliseSlurmState(state),
    exitCode,
    nodes,
    reason,
    name: fields.slice(SQUEUE_FIELD_COUNT - 1).join(SQUEUE_DELIMITER),
  });
}

/**
 * {@link SQUEUE_FORMAT} plus the working directory, for listing the jobs a worker owns. The name
 * stays last for the same reason as there.
 */
export const SQUEUE_LIST_FORMAT = [
  `JobID:0${SQUEUE_DELIMITER}`,
  `State:0${SQUEUE_DELIMITER}`,
  `exit_code:0${SQUEUE_DELIMITER}`,
  `NodeList:0${SQUEUE_DELIMITER}`,
  `Reason:0${SQUEUE_DELIMITER}`,
  `WorkDir:0${SQUEUE_DELIMITER}`,
  'Name:0',
].join(',');
const SQUEUE_LIST_FIELD_COUNT = 7;

/** The name of one {@link SQUEUE_LIST_FORMAT} line, without parsing the rest. */
export function squeueListLineName(line: string): string | undefined {
  const fields = line.split(SQUEUE_DELIMITER);
  return fields.length < SQUEUE_LIST_FIELD_COUNT
    ? undefined
    : fields.slice(SQUEUE_LIST_FIELD_COUNT - 1).join(SQUEUE_DELIMITER);
}

export function parseSqueueListLine(line: string): JobInfo {
  const fields = line.split(SQUEUE_DELIMITER);
  if (fields.length < SQUEUE_LIST_FIELD_COUNT) {
    throw new SchedulerError('PARSE', `unexpected squeue line ${JSON.stringify(line.slice(0, 200))}`);
  }
  const [jobId = '', state = '', exitCode = '', nodes = '', reason = '', workDir = ''] = fields;
  if (!/^\d+$/.test(jobId)) {
    throw new SchedulerError('PARSE', `unexpected squeue job id ${JSON.stringify(jobId)}`);
  }
  const info = jobInfo({
    jobId,
    state: normaliseSlurmState(state),
    exitCode,
    nodes,
    reason,
    name: fields.slice(SQUEUE_LIST_FIELD_COUNT - 1).join(SQUEUE_DELIMITER),
  });
  if (workDir !== '' && workDir !== '(null)') info.workDir = workDir;
  return info;
}

/**
 * What a poll asks squeue for: {@link SQUEUE_FORMAT}'s fields plus the queue and timing fields and
 * the owner, since the poll lists every user's jobs (a pending job's place in the queue depends on
 * them). The name stays last for the same reason as there.
 */
export const SQUEUE_QUEUE_FORMAT = [
  `JobID:0${SQUEUE_DELIMITER}`,
  `State:0${SQUEUE_DELIMITER}`,
  `exit_code:0${SQUEUE_DELIMITER}`,
  `NodeList:0${SQUEUE_DELIMITER}`,
  `Reason:0${SQUEUE_DELIMITER}`,
  `Partition:0${SQUEUE_DELIMITER}`,
  `PriorityLong:0${SQUEUE_DELIMITER}`,
  `StartTime:0${SQUEUE_DELIMITER}`,
  `SubmitTime:0${SQUEUE_DELIMITER}`,
  `TimeLimit:0${SQUEUE_DELIMITER}`,
  `UserName:0${SQUEUE_DELIMITER}`,
  'Name:0',
].join(',');
const SQUEUE_QUEUE_FIELD_COUNT = 12;

/** One {@link SQUEUE_QUEUE_FORMAT} line: the job, and who owns it. */
export function parseSqueueQueueLine(line: string): { info: JobInfo; user: string } {
  const fields = line.split(SQUEUE_DELIMITER);
  if (fields.length < SQUEUE_QUEUE_FIELD_COUNT) {
    throw new SchedulerError('PARSE', `unexpected squeue line ${JSON.stringify(line.slice(0, 200))}`);
  }
  const [
    jobId = '',
    state = '',
    exitCode = '',
    nodes = '',
    reason = '',
    partition,
    priority,
    startTime,
    submitTime,
    timeLimit,
    user = '',
  ] = fields;
  if (!/^\d+$/.test(jobId)) {
    throw new SchedulerError('PARSE', `unexpected squeue job id ${JSON.stringify(jobId)}`);
  }
  const info = jobInfo({
    jobId,
    state: normaliseSlurmState(state),
    exitCode,
    nodes,
    reason,
    partition,
    priority,
    startTime,
    submitTime,
    timeLimit,
    name: fields.slice(SQUEUE_QUEUE_FIELD_COUNT - 1).join(SQUEUE_DELIMITER),
  });
  return { info, user };
}

/**
 * The pending job a {@link SQUEUE_QUEUE_FORMAT} line shows, read leniently: any user's job, whose
 * id (arrays, heterogeneous jobs) or state this adapter need not understand. Undefined when the
 * line is not a pending job with a readable priority.
 */
export function squeuePendingJob(line: string): PendingJob | undefined {
  const fields = line.split(SQUEUE_DELIMITER);
  if (fields.length < SQUEUE_QUEUE_FIELD_COUNT) return undefined;
  const [jobId = '', state = '', , , , partition = '', priority = ''] = fields;
  if (!['PENDING', 'PD'].includes(state.trim().toUpperCase()) || !/^\d/.test(jobId)) return undefined;
  const value = Number(priority);
  if (priority === '' || !Number.isFinite(value)) return undefined;
  return { jobId, partitions: partition.split(',').filter((name) => name !== ''), priority: value };
}

/** Parses `squeue --noheader --Format=<SQUEUE_FORMAT>` output. */
export function parseSqueue(stdout: string): JobInfo[] {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map(parseSqueueLine);
}

/**
 * `Key=Value` pairs of the first record of `scontrol show job`. A value runs to the next ` Key=`,
 * so values containing spaces (reasons, paths) survive; JobName always ends the first line and is
 * taken whole because a name may contain anything.
 */
export function parseScontrolRecord(stdout: string): Map<string, string> | undefined {
  const record = stdout.split(/\n\s*\n/).find((block) => /^\s*JobId=/.test(block));
  if (!record) return undefined;
  const fields = new Map<string, string>();
  const lines = record.trim().split('\n');
  for (const [index, line] of lines.entries()) {
    let text = line.trim();
    if (index === 0) {
      const at = text.indexOf(' JobName=');
      if (at !== -1) {
        fields.set('JobName', text.slice(at + ' JobName='.length));
        text = text.slice(0, at);
      }
    }
    const keys = [...text.matchAll(/(?:^|\s)([A-Za-z][\w:/]*)=/g)];
    for (const [i, match] of keys.entries()) {
      const key = match[1] ?? '';
      const valueStart = match.index + match[0].length;
      const valueEnd = keys[i + 1]?.index ?? text.length;
      fields.set(key, text.slice(valueStart, valueEnd).trim());
    }
  }
  return fields;
}

export function parseScontrolShowJob(stdout: string): JobInfo | undefined {
  const fields = parseScontrolRecord(stdout);
  if (!fields) return undefined;
  const jobId = fields.get('JobId') ?? '';
  const state = fields.get('JobState');
  if (!/^\d+$/.test(jobId) || state === undefined) {
    throw new SchedulerError(
      'PARSE',
      `unexpected scontrol show job output ${JSON.stringify(stdout.slice(0, 200))}`,
    );
  }
  return jobInfo({
    jobId,
    name: fields.get('JobName') ?? '',
    state: normaliseSlurmState(state),
    nodes: fields.get('NodeList') ?? '',
    reason: fields.get('Reason'),
    exitCode: fields.get('ExitCode'),
    partition: fields.get('Partition'),
    priority: fields.get('Priority'),
    startTime: fields.get('StartTime'),
    submitTime: fields.get('SubmitTime'),
    timeLimit: fields.get('TimeLimit'),
  });
}

/**
 * One line of SLURM's jobcomp/filetxt log (`JobId=77 UserId=root(0) ... Name=x JobState=CANCELLED
 * ... WorkDir=/d ... ExitCode=0:15`). A value runs to the next ` Key=`, so paths with spaces survive.
 */
export function parseJobCompLine(line: string): Map<string, string> | undefined {
  const text = line.trim();
  if (!text.startsWith('JobId=')) return undefined;
  const keys = [...text.matchAll(/(?:^|\s)([A-Za-z]\w*)=/g)];
  const fields = new Map<string, string>();
  for (const [i, match] of keys.entries()) {
    const valueStart = match.index + match[0].length;
    const valueEnd = keys[i + 1]?.index ?? text.length;
    fields.set(match[1] ?? '', text.slice(valueStart, valueEnd).trim());
  }
  return fields;
}

/** The final state a jobcomp line records, or undefined when the line is not a job's. */
export function jobCompInfo(line: string): (JobInfo & { workDir?: string; user?: string }) | undefined {
  const fields = parseJobCompLine(line);
  const jobId = fields?.get('JobId') ?? '';
  const state = fields?.get('JobState');
  if (!fields || !/^\d+$/.test(jobId) || state === undefined) return undefined;
  const info: JobInfo & { user?: string } = jobInfo({
    jobId,
    name: fields.get('Name') ?? '',
    state: normaliseSlurmState(state),
    nodes: fields.get('NodeList') ?? '',
    reason: undefined,
    exitCode: fields.get('ExitCode'),
  });
  const workDir = fields.get('WorkDir');
  if (workDir) info.workDir = workDir;
  const user = fields.get('UserId')?.replace(/\(.*$/, '');
  if (user) info.user = user;
  return info;
}
