import {
  deriveStatus,
  isTerminalJobState,
  SERVICE_STATUSES,
  type JobState,
  type ServiceStatus,
} from './status';
import type { GenerationRecord, QueueInfo, RolloverInfo, ServiceConfig, Timeline } from './records';

export const GROUP_OVERALL_STATUSES = [
  'running',
  'partially_running',
  'degraded',
  'configuring',
  'pending',
  'idle',
  'failed',
  'cancelled',
  'completed',
] as const;
export type GroupOverallStatus = (typeof GROUP_OVERALL_STATUSES)[number];

/** A service's status or a group's overall status: what `/status` and the service lists show for an id. */
export const ENTRY_STATUSES = [
  ...SERVICE_STATUSES,
  ...GROUP_OVERALL_STATUSES.filter((status) => !(SERVICE_STATUSES as readonly string[]).includes(status)),
] as readonly (ServiceStatus | GroupOverallStatus)[];
export type EntryStatus = ServiceStatus | GroupOverallStatus;

export interface ReplicaRecord {
  /** `<job_id>:<port>`, what `routed_to` shows; `<job_id>:r<index>` until the port is known. */
  id: string;
  job_id: string;
  node_index: number;
  replica_index: number;
  port: number | null;
  gpu_ids: string[];
  status: ServiceStatus;
  endpoint: string | null;
}

export interface NodeJobRecord {
  job_id: string;
  node_index: number;
  node: string | null;
  replicas: ReplicaRecord[];
  /** Only while this node job is pending. */
  queue?: QueueInfo;
  timeline: Timeline;
}

export interface GroupRecord {
  id: string;
  group_id: string;
  job_id: string;
  type: 'replica_group';
  name: string;
  recipe_name: string;
  status: GroupOverallStatus;
  config: ServiceConfig;
  created_at: string;
  updated_at: string;
  total_replicas: number;
  gpu_per_replica: number;
  base_port: number;
  node_jobs: NodeJobRecord[];
  /** As on a single service's record: always present, [] when none. */
  warnings: string[];
  /** Only while the group is `pending`: that of its node job nearest to starting. */
  queue?: QueueInfo;
  /** The group as a whole, across rollovers. */
  timeline: Timeline;
  /** Its first node job's id of each generation; `job_id` is the current one. */
  generations: GenerationRecord[];
  rollover: RolloverInfo;
}

export interface GroupSummary {
  id: string;
  group_id: string;
  recipe_name: string;
  overall_status: GroupOverallStatus;
  total_replicas: number;
  healthy_replicas: number;
  created_at: string;
}

export interface ReplicaStatus {
  id: string;
  status: ServiceStatus;
  endpoint: string | null;
  healthy: boolean;
}

export interface GroupStatusResponse {
  group_id: string;
  overall_status: GroupOverallStatus;
  total_replicas: number;
  healthy_replicas: number;
  starting_replicas: number;
  pending_replicas: number;
  failed_replicas: number;
  replica_statuses: ReplicaStatus[];
  /** Only while the group is `pending`, as on its record. */
  queue?: QueueInfo;
}

/**
 * The answer to cancelling a group: as a service's (see CancelResponse), with the group's overall
 * status and the number of replicas the group has.
 */
export interface GroupCancelResponse {
  success: true;
  message: string;
  group_id: string;
  status: GroupOverallStatus;
  replicas_updated: number;
}

export const GROUP_ID_PREFIX = 'sg-';

export function groupIdOf(jobId: string): string {
  return `${GROUP_ID_PREFIX}${jobId}`;
}

export function isGroupId(id: string): boolean {
  return id.startsWith(GROUP_ID_PREFIX);
}

export function replicaIdOf(jobId: string, port: number | null, index: number): string {
  return port === null ? `${jobId}:r${index}` : `${jobId}:${port}`;
}

/**
 * A replica's status: the node job's state, refined by the replica's own readiness. A replica that
 * was serving and stopped answering while its job still runs has failed (it is out of rotation);
 * one that never answered yet is still configuring.
 */
export function replicaStatus(state: JobState, ready: boolean, seenReady: boolean): ServiceStatus {
  const status = deriveStatus(state, ready);
  if (status === 'configuring' && seenReady && !isTerminalJobState(state)) return 'failed';
  return status;
}

/** The contract's aggregate over every replica of every node job. */
export function overallStatus(statuses: readonly ServiceStatus[]): GroupOverallStatus {
  const count = (status: ServiceStatus): number => statuses.filter((s) => s === status).length;
  const running = count('running');
  const failed = statuses.filter(
    (s) => !['running', 'configuring', 'pending', 'idle', 'cancelled', 'completed'].includes(s),
  ).length;
  if (statuses.length === 0) return 'pending';
  if (count('idle') === statuses.length) return 'idle';
  if (count('cancelled') === statuses.length) return 'cancelled';
  if (count('completed') === statuses.length) return 'completed';
  if (running === statuses.length) return 'running';
  if (running > 0) return failed > 0 ? 'degraded' : 'partially_running';
  if (failed > 0) return 'failed';
  if (count('configuring') > 0) return 'configuring';
  if (count('pending') > 0) return 'pending';
  if (count('idle') > 0) return 'idle';
  // A mix of terminal states with none failed: the group ended; cancelled wins as the user's act.
  return count('cancelled') > 0 ? 'cancelled' : 'completed';
}

export function isTerminalGroupStatus(status: GroupOverallStatus): boolean {
  return status === 'cancelled' || status === 'completed';
}
