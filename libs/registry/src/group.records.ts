import {
  overallStatus,
  replicaIdOf,
  replicaStatus,
  type GroupRecord,
  type GroupStatusResponse,
  type GroupSummary,
  type NodeJobRecord,
  isTerminalGroupStatus,
  type GenerationRecord,
  type GroupOverallStatus,
  type QueueInfo,
  type ReplicaRecord,
  type RolloverInfo,
  type Timeline,
} from '@aiplane/contracts';
import { recordQueue, type GroupView } from './service.registry';
import type { StoredGroup, StoredReplica, StoredService } from './registry.types';

function portOf(endpoint: string | null): number | null {
  return endpoint === null ? null : Number(new URL(endpoint).port);
}

/** The port a replica listens on, or last listened on: its id stays the same once it dies. */
export function storedReplicaPort(replica: StoredReplica): number | null {
  return portOf(replica.endpoint) ?? replica.last_port ?? null;
}

export function replicaRecords({ jobs }: GroupView): ReplicaRecord[] {
  return jobs.flatMap((job) =>
    job.replicas.map((replica) => {
      const port = storedReplicaPort(replica);
      return {
        id: replicaIdOf(job.job_id, port, replica.index),
        job_id: job.job_id,
        node_index: job.node_index ?? 0,
        replica_index: replica.index,
        port,
        gpu_ids: replica.gpu_ids,
        status: replicaStatus(job.scheduler_state, replica.ready, replica.seen_ready),
        endpoint: replica.endpoint,
      };
    }),
  );
}

/** The group record as the contract shows it, its status aggregated over every replica. */
export function toGroupRecord(view: GroupView): GroupRecord {
  const { group, jobs } = view;
  const replicas = replicaRecords(view);
  const updatedAt =
    jobs
      .map((job) => job.updated_at)
      .sort()
      .at(-1) ?? group.created_at;
  const record: GroupRecord = {
    id: group.id,
    group_id: group.id,
    job_id: group.job_ids[0] ?? '',
    type: 'replica_group',
    name: group.name,
    recipe_name: group.recipe_name,
    status: overallStatus(replicas.map((replica) => replica.status)),
    config: group.config,
    created_at: group.created_at,
    updated_at: updatedAt,
    total_replicas: group.total_replicas,
    gpu_per_replica: group.gpu_per_replica,
    base_port: group.base_port,
    node_jobs: jobs.map((job) => {
      const nodeJob: NodeJobRecord = {
        job_id: job.job_id,
        node_index: job.node_index ?? 0,
        node: job.node,
        replicas: replicas.filter((replica) => replica.job_id === job.job_id),
        timeline: job.timeline,
      };
      const queue = recordQueue(job);
      if (queue) nodeJob.queue = queue;
      return nodeJob;
    }),
    warnings: group.warnings ?? [],
    timeline: groupTimeline(view),
    generations: [],
    rollover: { state: 'off', message: null, successor_job_id: null },
  };
  record.rollover = groupRollover(group, record.status);
  record.generations = groupGenerations(group, record.timeline, jobs);
  const queue = groupQueue(view, record.status);
  if (queue) record.queue = queue;
  return record;
}

function earliest(values: (string | null)[]): string | null {
  const known = values.filter((value) => value !== null).sort();
  return known[0] ?? null;
}

/**
 * A group's timeline: the first generation's beginnings (kept once a rollover moved its node jobs
 * on), its node jobs' earliest; it ends when the last of its current node jobs ended.
 */
export function groupTimeline({ group, jobs }: GroupView): Timeline {
  const ends = jobs.map((job) => job.timeline.ended_at).filter((end) => end !== null);
  const first = group.first_timeline;
  return {
    submitted_at: first?.submitted_at ?? earliest(jobs.map((job) => job.timeline.submitted_at)),
    started_at: first?.started_at ?? earliest(jobs.map((job) => job.timeline.started_at)),
    ready_at: first?.ready_at ?? earliest(jobs.map((job) => job.timeline.ready_at)),
    ended_at: jobs.length > 0 && ends.length === jobs.length ? (ends.sort().at(-1) ?? null) : null,
  };
}

function groupGenerations(
  group: StoredGroup,
  timeline: Timeline,
  jobs: readonly StoredService[],
): GenerationRecord[] {
  const current = group.job_ids[0] ?? '';
  const generations = group.generations ?? [
    { job_id: current, started_at: earliest(jobs.map((job) => job.timeline.started_at)), ended_at: null },
  ];
  return generations.map((generation) =>
    generation.job_id === current && generation.ended_at === null
      ? { ...generation, ended_at: timeline.ended_at }
      : generation,
  );
}

function groupRollover(group: StoredGroup, status: GroupOverallStatus): RolloverInfo {
  const stored = group.rollover ?? { state: 'off' as const, message: null };
  const ended = isTerminalGroupStatus(status);
  if (ended && stored.state !== 'late' && stored.state !== 'off')
    return { state: 'off', message: null, successor_job_id: null };
  return { ...stored, successor_job_id: ended ? null : (group.next_job_ids?.[0] ?? null) };
}

/**
 * A pending group's queue: that of the node job nearest to starting (the lowest position, then the
 * earliest estimate), since the group leaves `pending` when its first replica starts.
 */
export function groupQueue(view: GroupView, status: string): QueueInfo | undefined {
  if (status !== 'pending') return undefined;
  const queues = view.jobs.map(recordQueue).filter((queue) => queue !== undefined);
  const rank = (queue: QueueInfo): [number, number] => [
    queue.position ?? Number.MAX_SAFE_INTEGER,
    queue.estimated_start === null ? Number.MAX_SAFE_INTEGER : Date.parse(queue.estimated_start),
  ];
  return queues.sort((a, b) => {
    const [positionA, startA] = rank(a);
    const [positionB, startB] = rank(b);
    return positionA - positionB || startA - startB;
  })[0];
}

export function toGroupStatus(view: GroupView): GroupStatusResponse {
  const replicas = replicaRecords(view);
  const count = (status: string): number => replicas.filter((replica) => replica.status === status).length;
  const answer: GroupStatusResponse = {
    group_id: view.group.id,
    overall_status: overallStatus(replicas.map((replica) => replica.status)),
    total_replicas: view.group.total_replicas,
    healthy_replicas: count('running'),
    starting_replicas: count('configuring'),
    pending_replicas: count('pending'),
    failed_replicas: replicas.filter(
      (replica) =>
        !['running', 'configuring', 'pending', 'idle', 'cancelled', 'completed'].includes(replica.status),
    ).length,
    replica_statuses: replicas.map((replica) => ({
      id: replica.id,
      status: replica.status,
      endpoint: replica.endpoint,
      healthy: replica.status === 'running',
    })),
  };
  const queue = groupQueue(view, answer.overall_status);
  if (queue) answer.queue = queue;
  return answer;
}

export function toGroupSummary(view: GroupView): GroupSummary {
  const status = toGroupStatus(view);
  return {
    id: view.group.id,
    group_id: view.group.id,
    recipe_name: view.group.recipe_name,
    overall_status: status.overall_status,
    total_replicas: status.total_replicas,
    healthy_replicas: status.healthy_replicas,
    created_at: view.group.created_at,
  };
}
