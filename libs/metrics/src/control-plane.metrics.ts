import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ControlPlaneApp } from '@aiplane/contracts';

/*
 * The control plane's own metrics: one prom-client Registry per app, every series labelled `app`,
 * Node's process metrics included. Each app creates the instrument sets it feeds; the dashboards
 * (tools/observability/grafana/dashboards/control-plane.json) name only what these register, which
 * tools/observability/dashboards.spec.ts checks.
 */

export const CONTROL_PLANE_METRICS = {
  httpRequests: 'aiplane_http_requests_total',
  httpDuration: 'aiplane_http_request_duration_seconds',
  overhead: 'aiplane_data_plane_overhead_seconds',
  queueJobs: 'aiplane_queue_jobs',
  jobDuration: 'aiplane_queue_job_duration_seconds',
  jobWait: 'aiplane_queue_job_wait_seconds',
  schedulerDuration: 'aiplane_scheduler_command_duration_seconds',
  schedulerFailures: 'aiplane_scheduler_command_failures_total',
  sshUp: 'aiplane_ssh_tunnel_up',
  sshState: 'aiplane_ssh_tunnel_state',
  sshReconnects: 'aiplane_ssh_tunnel_reconnects_total',
  readinessTransitions: 'aiplane_readiness_transitions_total',
  probes: 'aiplane_readiness_probes_total',
} as const;

const M = CONTROL_PLANE_METRICS;

/** Request latencies of a control plane whose slow answers are a workload generating tokens. */
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** A hop's own share is a fraction of a millisecond when all is well; tens of ms is a problem. */
const OVERHEAD_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
/** sbatch, squeue and scontrol answer in tens of ms; a loaded controller takes seconds. */
const COMMAND_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Scheduler jobs: a poll is ms, a submit waits for sbatch, a wake waits for the old job to end. */
const JOB_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export const SCHEDULER_COMMANDS = ['sbatch', 'squeue', 'scancel', 'scontrol'] as const;

/** BullMQ's job states, as `getJobCounts` names them. */
export const QUEUE_STATES = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'waiting-children',
  'completed',
  'failed',
  'paused',
] as const;

export const TUNNEL_PHASES = ['idle', 'connecting', 'connected', 'backoff', 'closed'] as const;

export interface HttpMetrics {
  /** One answered request; `overheadMs` for data-plane requests, the hop's own share of the time. */
  observe(route: string, method: string, status: number, seconds: number, overheadMs?: number): void;
}

export interface QueueMetrics {
  /** A job that finished (`completed`) or failed; times in ms since the epoch, as BullMQ keeps them. */
  finished(
    name: string,
    outcome: 'completed' | 'failed',
    times: { timestamp: number; processedOn?: number; finishedOn?: number },
  ): void;
}

export interface SchedulerMetrics {
  observe(command: string, seconds: number, failed: boolean): void;
}

export interface TunnelReading {
  phase: (typeof TUNNEL_PHASES)[number];
  target: string;
  reconnects: number;
}

export interface ReadinessMetrics {
  probed(outcome: string): void;
  changed(ready: boolean): void;
}

/** `ms` → seconds, for the `x-aiplane-overhead-ms` header's number. */
function seconds(ms: number): number {
  return ms / 1000;
}

/** One app's registry and the instrument sets it uses, each created once on first use. */
export class AppMetrics {
  readonly registry = new Registry();
  private httpMetrics?: HttpMetrics;
  private queueMetrics?: QueueMetrics;
  private schedulerMetrics?: SchedulerMetrics;
  private readinessMetrics?: ReadinessMetrics;

  constructor(readonly app: ControlPlaneApp) {
    this.registry.setDefaultLabels({ app });
    collectDefaultMetrics({ register: this.registry });
  }

  /** The exposition, Prometheus text format 0.0.4. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  http(): HttpMetrics {
    if (this.httpMetrics) return this.httpMetrics;
    const labelNames = ['route', 'method', 'status'] as const;
    const count = new Counter({
      name: M.httpRequests,
      help: 'Requests answered, by route template, method and status (Nest routes and the pass-through)',
      labelNames,
      registers: [this.registry],
    });
    const duration = new Histogram({
      name: M.httpDuration,
      help: 'Time from the request to the end of its answer (streams included), by route template',
      labelNames,
      buckets: HTTP_BUCKETS,
      registers: [this.registry],
    });
    const overhead = new Histogram({
      name: M.overhead,
      help: "This hop's share of a data-plane request's time to headers, excluding the workload (x-aiplane-overhead-ms)",
      labelNames: ['route'],
      buckets: OVERHEAD_BUCKETS,
      registers: [this.registry],
    });
    this.httpMetrics = {
      observe: (route, method, status, elapsed, overheadMs) => {
        const labels = { route, method, status: String(status) };
        count.inc(labels);
        duration.observe(labels, elapsed);
        if (overheadMs !== undefined) overhead.observe({ route }, seconds(overheadMs));
      },
    };
    return this.httpMetrics;
  }

  /** Queue depth is read when the registry is collected, from `counts` (BullMQ's getJobCounts). */
  queue(queue: string, counts: () => Promise<Partial<Record<string, number>>>): QueueMetrics {
    if (this.queueMetrics) return this.queueMetrics;
    new Gauge({
      name: M.queueJobs,
      help: 'Jobs in the queue by state, as BullMQ counts them when scraped',
      labelNames: ['queue', 'state'],
      registers: [this.registry],
      async collect() {
        const read = await counts();
        for (const state of QUEUE_STATES) this.set({ queue, state }, read[state] ?? 0);
      },
    });
    const duration = new Histogram({
      name: M.jobDuration,
      help: 'Time a queue job ran, by job name and outcome',
      labelNames: ['queue', 'job_name', 'outcome'],
      buckets: JOB_BUCKETS,
      registers: [this.registry],
    });
    const wait = new Histogram({
      name: M.jobWait,
      help: 'Time a queue job waited from enqueue (or its delay) to a worker taking it, by job name',
      labelNames: ['queue', 'job_name'],
      buckets: JOB_BUCKETS,
      registers: [this.registry],
    });
    this.queueMetrics = {
      finished: (name, outcome, { timestamp, processedOn, finishedOn }) => {
        if (processedOn === undefined) return;
        wait.observe({ queue, job_name: name }, Math.max(0, processedOn - timestamp) / 1000);
        if (finishedOn !== undefined) {
          duration.observe({ queue, job_name: name, outcome }, Math.max(0, finishedOn - processedOn) / 1000);
        }
      },
    };
    return this.queueMetrics;
  }

  scheduler(): SchedulerMetrics {
    if (this.schedulerMetrics) return this.schedulerMetrics;
    const duration = new Histogram({
      name: M.schedulerDuration,
      help: 'Time a scheduler command took, by command (sbatch, squeue, scancel, scontrol) and outcome',
      labelNames: ['command', 'outcome'],
      buckets: COMMAND_BUCKETS,
      registers: [this.registry],
    });
    const failures = new Counter({
      name: M.schedulerFailures,
      help: 'Scheduler commands that failed to run, timed out or exited nonzero, by command',
      labelNames: ['command'],
      registers: [this.registry],
    });
    // Zero from the start, so a rate reads 0 rather than nothing until the first failure.
    for (const command of SCHEDULER_COMMANDS) failures.inc({ command }, 0);
    this.schedulerMetrics = {
      observe: (command, elapsed, failed) => {
        duration.observe({ command, outcome: failed ? 'failure' : 'success' }, elapsed);
        if (failed) failures.inc({ command });
      },
    };
    return this.schedulerMetrics;
  }

  /** The SSH tunnel, read when collected: up, its phase, and how often it reconnected. */
  sshTunnel(read: () => TunnelReading): void {
    new Gauge({
      name: M.sshUp,
      help: '1 while the SSH tunnel to the cluster is connected',
      labelNames: ['target'],
      registers: [this.registry],
      collect() {
        const { phase, target } = read();
        this.reset();
        this.set({ target }, phase === 'connected' ? 1 : 0);
      },
    });
    new Gauge({
      name: M.sshState,
      help: "1 for the SSH tunnel's current phase (idle, connecting, connected, backoff, closed), 0 for the others",
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        const { phase } = read();
        for (const state of TUNNEL_PHASES) this.set({ state }, state === phase ? 1 : 0);
      },
    });
    new Counter({
      name: M.sshReconnects,
      help: 'Connections of the SSH tunnel after its first one (after a drop or a failed attempt)',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(read().reconnects);
      },
    });
  }

  readiness(): ReadinessMetrics {
    if (this.readinessMetrics) return this.readinessMetrics;
    const transitions = new Counter({
      name: M.readinessTransitions,
      help: 'Workloads (services or replicas) whose readiness changed, by the state they changed to',
      labelNames: ['to'],
      registers: [this.registry],
    });
    const probes = new Counter({
      name: M.probes,
      help: 'Readiness probes, by outcome',
      labelNames: ['outcome'],
      registers: [this.registry],
    });
    for (const to of ['ready', 'not_ready']) transitions.inc({ to }, 0);
    for (const outcome of ['ready', 'not_ready', 'unproven']) probes.inc({ outcome }, 0);
    this.readinessMetrics = {
      probed: (outcome) => {
        probes.inc({ outcome });
      },
      changed: (ready) => {
        transitions.inc({ to: ready ? 'ready' : 'not_ready' });
      },
    };
    return this.readinessMetrics;
  }
}
