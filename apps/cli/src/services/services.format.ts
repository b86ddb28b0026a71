import { TERMINAL_STATUSES, type GroupRecord, type QueueInfo, type ServiceRecord } from '@aiplane/contracts';
import {
  colorStatus,
  formatAge,
  formatDuration,
  formatEstimate,
  renderFields,
  renderTable,
  toJson,
  type Cell,
  type Colors,
} from '../common/output.format';

/** An entry of `GET /services`: a service, or a replica group. */
export type EntryRecord = ServiceRecord | GroupRecord;

/** `#3 · Resources · start 12:05:00 (in 4m 05s)`, or undefined when there is nothing to say. */
export function describeQueue(queue: QueueInfo | undefined, now: number): string | undefined {
  if (queue === undefined) return undefined;
  const parts = [
    queue.position === null ? undefined : `queue position ${String(queue.position)}`,
    queue.reason ?? undefined,
    queue.estimated_start === null
      ? undefined
      : `est. start ${formatEstimate(queue.estimated_start, now) ?? ''}`,
  ].filter((part): part is string => part !== undefined);
  return parts.length === 0 ? undefined : parts.join(' · ');
}

/** Where to reach it while it runs, where it stands in the queue while pending. */
function detailOf(entry: EntryRecord, now: number): string | undefined {
  if (entry.status === 'pending') return describeQueue(entry.queue, now) ?? 'queued';
  if (entry.type === 'replica_group') {
    const replicas = entry.node_jobs.flatMap((job) => job.replicas);
    const running = replicas.filter((replica) => replica.status === 'running').length;
    return `${String(running)}/${String(entry.total_replicas)} replicas running`;
  }
  return entry.endpoint ?? undefined;
}

export function renderServiceList(
  entries: readonly EntryRecord[],
  now: number,
  colors: Colors,
  width?: number,
): string {
  if (entries.length === 0)
    return 'No services. Create one with `aiplane services create <recipe>` (`aiplane recipes ls` lists them).';
  const rows: Cell[][] = entries.map((entry) => [
    entry.id,
    entry.recipe_name,
    colorStatus(entry.status, colors),
    formatAge(entry.created_at, now),
    detailOf(entry, now),
  ]);
  return renderTable(['ID', 'RECIPE', 'STATUS', 'CREATED', 'ENDPOINT / QUEUE'], rows, colors, width);
}

function timelineText(entry: EntryRecord, now: number): string | undefined {
  const { timeline } = entry;
  const steps: [string, string | null][] = [
    ['submitted', timeline.submitted_at],
    ['started', timeline.started_at],
    ['ready', timeline.ready_at],
    ['ended', timeline.ended_at],
  ];
  const known = steps.filter((step): step is [string, string] => step[1] !== null);
  if (known.length === 0) return undefined;
  return known.map(([label, at]) => `${label} ${formatAge(at, now) ?? at}`).join('\n');
}

export function renderServiceDetail(entry: EntryRecord, now: number, colors: Colors): string {
  const fields: [string, Cell][] = [
    ['id', entry.id],
    ['name', entry.name],
    ['type', entry.type],
    ['recipe', entry.recipe_name],
    ['status', colorStatus(entry.status, colors)],
    ['job id', entry.job_id],
  ];
  if (entry.type === 'service') fields.push(['endpoint', entry.endpoint]);
  else fields.push(['replicas', detailOf(entry, now)]);
  if (entry.status === 'pending') fields.push(['queue', describeQueue(entry.queue, now) ?? 'queued']);
  fields.push(['created', `${entry.created_at} (${formatAge(entry.created_at, now) ?? ''})`]);
  fields.push(['timeline', timelineText(entry, now)]);
  if (entry.generations.length > 1) {
    fields.push(['generations', entry.generations.map((generation) => generation.job_id).join(' → ')]);
  }
  fields.push(['rollover', entry.rollover.message ?? entry.rollover.state]);
  if (entry.warnings.length > 0) fields.push(['warnings', entry.warnings.join('\n')]);
  fields.push(['config', Object.keys(entry.config).length === 0 ? undefined : toJson(entry.config)]);
  return renderFields(fields, colors);
}

/** What a person sees of a running wait: status, queue, and how long it has taken. */
export interface WaitSnapshot {
  status: string;
  queue?: QueueInfo;
  /** Since the service was submitted (or the wait began, when the record does not say). */
  elapsedMs: number;
  /** In the current status. */
  inPhaseMs: number;
}

export function progressLine(snapshot: WaitSnapshot, now: number): string {
  const parts = [snapshot.status];
  if (snapshot.status === 'pending')
    parts.push(describeQueue(snapshot.queue, now) ?? 'waiting for the scheduler');
  if (snapshot.status === 'configuring') parts.push('loading the workload');
  if (snapshot.status === 'idle') parts.push('stopped for want of use; a request to it starts it again');
  parts.push(`${formatDuration(snapshot.inPhaseMs)} in ${snapshot.status}`);
  parts.push(`${formatDuration(snapshot.elapsedMs)} elapsed`);
  return parts.join(' · ');
}

export interface Phase {
  status: string;
  since: number;
}

/** `pending 2s → configuring 5s → running`: the phases a wait saw, each with its length. */
export function phaseHistory(phases: readonly Phase[]): string {
  return phases
    .map((phase, index) => {
      const end = phases[index + 1]?.since;
      return end === undefined ? phase.status : `${phase.status} ${formatDuration(end - phase.since)}`;
    })
    .join(' → ');
}

export type WaitVerdict = 'running' | 'failed' | 'waiting';

/** Terminal statuses, and a group with failed replicas: none of them becomes `running` by waiting. */
const FAILED = new Set<string>([...TERMINAL_STATUSES, 'degraded']);

export function waitVerdict(status: string): WaitVerdict {
  if (status === 'running') return 'running';
  return FAILED.has(status) ? 'failed' : 'waiting';
}
