/**
 * Service lifecycle as the contract names it. `running` means a prompt sent now will be served,
 * so it depends on readiness, not only on the scheduler saying the job runs.
 */
export const SERVICE_STATUSES = [
  'pending',
  'configuring',
  'running',
  // Stopped for want of use (config.idle_timeout); not terminal: the next data-plane request starts it again.
  'idle',
  'completed',
  'failed',
  'cancelled',
  'timeout',
  'node_fail',
  'preempted',
  'out_of_memory',
] as const;
export type ServiceStatus = (typeof SERVICE_STATUSES)[number];

export const TERMINAL_STATUSES: readonly ServiceStatus[] = [
  'completed',
  'failed',
  'cancelled',
  'timeout',
  'node_fail',
  'preempted',
  'out_of_memory',
];

export function isTerminalStatus(status: ServiceStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/**
 * Scheduler-neutral job states. Adapters translate their scheduler's vocabulary into these;
 * SLURM's own names are used because they are the most complete public vocabulary.
 */
export const JOB_STATES = [
  'PENDING',
  'CONFIGURING',
  'RUNNING',
  'COMPLETING',
  'SUSPENDED',
  'REQUEUED',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'TIMEOUT',
  'NODE_FAIL',
  'PREEMPTED',
  'OUT_OF_MEMORY',
  'BOOT_FAIL',
  'DEADLINE',
] as const;
export type JobState = (typeof JOB_STATES)[number];

const TERMINAL_JOB_STATES: Readonly<Partial<Record<JobState, ServiceStatus>>> = {
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  TIMEOUT: 'timeout',
  NODE_FAIL: 'node_fail',
  PREEMPTED: 'preempted',
  OUT_OF_MEMORY: 'out_of_memory',
  BOOT_FAIL: 'failed',
  DEADLINE: 'timeout',
};

export function isTerminalJobState(state: JobState): boolean {
  return state in TERMINAL_JOB_STATES;
}

export function isJobState(value: string): value is JobState {
  return (JOB_STATES as readonly string[]).includes(value);
}

/**
 * The one place that decides what a user sees. `ready` comes from the health prober; a job the
 * scheduler reports as running is only `running` once its workload answers its readiness probe.
 */
export function deriveStatus(state: JobState, ready: boolean): ServiceStatus {
  const terminal = TERMINAL_JOB_STATES[state];
  if (terminal) return terminal;
  switch (state) {
    case 'PENDING':
    case 'REQUEUED':
    case 'SUSPENDED':
      return 'pending';
    default:
      return ready ? 'running' : 'configuring';
  }
}
