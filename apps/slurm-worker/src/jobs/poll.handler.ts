import { hostname } from 'node:os';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { isTerminalJobState, type JobState, type QueueInfo, type SchedulerJobs } from '@aiplane/contracts';
import { ServiceRegistry, type SchedulerObservation, type StoredService } from '@aiplane/registry';
import type { JobInfo, Scheduler } from '@aiplane/scheduler';
import type { Logger } from '@aiplane/server-kit';
import { CONFIG, LOGGER, SCHEDULER } from '../platform/platform.module';
import type { SlurmWorkerConfig } from '../slurm-worker.config';
import { endpointHostProblem } from './endpoint.rules';
import { readEndpoint, readExitCode } from './job-files';

/** What the poll hands on once the records are current: the rollover planner (rollover/). */
export abstract class PollFollower {
  abstract afterPoll(services: readonly StoredService[], jobs: ReadonlyMap<string, JobInfo>): Promise<void>;
}

type Result = SchedulerJobs['poll']['result'];

const RUNNING_STATES: readonly JobState[] = ['RUNNING', 'COMPLETING'];

/**
 * Brings every active record in line with the scheduler: one query for all tracked jobs per
 * interval, then one write per record that actually changed.
 */
@Injectable()
export class PollHandler {
  constructor(
    private readonly registry: ServiceRegistry,
    @Inject(SCHEDULER) private readonly scheduler: Scheduler,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(CONFIG) private readonly config: Pick<SlurmWorkerConfig, 'ENDPOINT_HOST'>,
    @Optional() private readonly follower?: PollFollower,
  ) {}

  // Hosts a job may name besides its node: the one the worker tells jobs to write, and this machine
  // when the local executor runs the jobs here.
  private extraHosts(): string[] {
    const hosts = this.config.ENDPOINT_HOST === undefined ? [] : [this.config.ENDPOINT_HOST];
    return this.scheduler.kind === 'local' ? [...hosts, hostname(), '127.0.0.1'] : hosts;
  }

  /** The job's published endpoint (or replica `replica`'s) if present and on the job's node. */
  private async endpointOf(service: StoredService, nodes: readonly string[], replica?: number) {
    const endpoint = await readEndpoint(service.job_dir, replica);
    if (endpoint === undefined) return undefined;
    const problem = endpointHostProblem(endpoint, nodes, this.extraHosts());
    if (problem === undefined) return endpoint;
    this.logger.warn({ service_id: service.id, replica, problem }, 'ignoring an endpoint on another host');
    return undefined;
  }

  async handle(): Promise<Result> {
    const services = await this.registry.getMany(await this.registry.activeIds());
    if (services.length === 0) return { tracked: 0, changed: 0 };
    const jobs = await this.scheduler.query(services.map((service) => service.job_id));
    let changed = 0;
    for (const service of services) {
      // A vector database whose job is being stopped for its rollover: that cancel is no end, and
      // the rollover handler moves the record on to the new job.
      if (service.stopping_job_id === service.job_id) continue;
      const observation = await this.observe(service, jobs.get(service.job_id));
      if (
        differs(service, observation) &&
        (await this.registry.applySchedulerState(service.id, { ...observation, jobId: service.job_id }))
      ) {
        changed += 1;
        this.logger.info(
          { service_id: service.id, from: service.scheduler_state, to: observation.state },
          'scheduler state changed',
        );
      }
    }
    if (this.follower) {
      try {
        await this.follower.afterPoll(services, jobs);
      } catch (error) {
        // The next poll tries again; the records themselves are already current.
        this.logger.warn({ err: error }, 'rollover planning failed');
      }
    }
    return { tracked: services.length, changed };
  }

  private async observe(service: StoredService, job: JobInfo | undefined): Promise<SchedulerObservation> {
    if (!job) {
      // The scheduler has forgotten the job (it ended longer ago than it keeps records, e.g. while
      // no worker ran). Its completion log, where readable, says how it ended (cancelled, timed
      // out, ...); else the script's own exit status is the best evidence.
      const finished = await this.scheduler.finishedJob?.(service.job_id, service.job_dir);
      if (finished) {
        return {
          jobId: service.job_id,
          state: finished.state,
          node: finished.nodes[0] ?? service.node,
          exitCode: finished.exitCode ?? null,
          reason: finished.reason ?? service.status_reason,
          ...timelineOf(service, finished),
        };
      }
      const exitCode = await readExitCode(service.job_dir);
      return {
        ...timelineOf(service, { state: exitCode === 0 ? 'COMPLETED' : 'FAILED' }),
        jobId: service.job_id,
        state: exitCode === 0 ? 'COMPLETED' : 'FAILED',
        exitCode: exitCode ?? null,
        reason:
          exitCode === undefined
            ? 'the scheduler no longer knows this job and it left no exit status'
            : service.status_reason,
      };
    }
    const observation: SchedulerObservation = {
      jobId: service.job_id,
      state: job.state,
      node: job.nodes[0] ?? service.node,
      reason: job.reason ?? service.status_reason,
      ...timelineOf(service, job),
    };
    if (job.exitCode !== undefined) observation.exitCode = job.exitCode;
    const queue = queueOf(job);
    if (queue !== null || service.queue !== undefined) observation.queue = queue;
    if (RUNNING_STATES.includes(job.state) && service.replicas.length === 0 && !service.endpoint) {
      const endpoint = await this.endpointOf(service, job.nodes);
      if (endpoint) observation.endpoint = endpoint;
    }
    if (RUNNING_STATES.includes(job.state)) {
      // The job removes a replica's endpoint file when that replica ends: its record follows, so
      // nothing routes to (or probes) a port someone else may take next.
      for (const replica of service.replicas) {
        const endpoint = (await this.endpointOf(service, job.nodes, replica.index)) ?? null;
        if (endpoint !== replica.endpoint)
          observation.replicaEndpoints = { ...observation.replicaEndpoints, [replica.index]: endpoint };
      }
    }
    return observation;
  }
}

function differs(service: StoredService, observation: SchedulerObservation): boolean {
  return (
    service.scheduler_state !== observation.state ||
    (observation.node !== undefined && observation.node !== service.node) ||
    (observation.endpoint !== undefined && observation.endpoint !== service.endpoint) ||
    observation.replicaEndpoints !== undefined ||
    (observation.exitCode !== undefined && observation.exitCode !== service.exit_code) ||
    (observation.queue !== undefined && !sameQueue(observation.queue, service.queue)) ||
    observation.submittedAt !== undefined ||
    observation.startedAt !== undefined ||
    observation.endedAt !== undefined ||
    observation.generationStartedAt !== undefined
  );
}

/**
 * The timeline fields the record does not have yet: submitted and started as the scheduler says,
 * ended when the job is first seen final (the scheduler keeps no end time the poll reads).
 */
function timelineOf(
  service: StoredService,
  job: Pick<JobInfo, 'state'> & Partial<Pick<JobInfo, 'submittedAt' | 'startedAt'>>,
  now = new Date(),
): Pick<SchedulerObservation, 'submittedAt' | 'startedAt' | 'endedAt' | 'generationStartedAt'> {
  const fields: Pick<SchedulerObservation, 'submittedAt' | 'startedAt' | 'endedAt' | 'generationStartedAt'> =
    {};
  if (service.timeline.submitted_at === null && job.submittedAt !== undefined)
    fields.submittedAt = job.submittedAt;
  if (service.timeline.started_at === null && job.startedAt !== undefined && job.state !== 'PENDING')
    fields.startedAt = job.startedAt;
  if (service.timeline.ended_at === null && isTerminalJobState(job.state)) fields.endedAt = now.toISOString();
  const unstarted = service.generations?.some(
    (entry) => entry.job_id === service.job_id && entry.started_at === null,
  );
  if (unstarted && job.startedAt !== undefined && job.state !== 'PENDING')
    fields.generationStartedAt = job.startedAt;
  return fields;
}

/** Where a pending job stands; null once it left the queue (or never was in one). */
function queueOf(job: JobInfo): QueueInfo | null {
  if (job.state !== 'PENDING') return null;
  return {
    position: job.queuePosition ?? null,
    reason: job.reason ?? null,
    estimated_start: job.estimatedStart ?? null,
  };
}

function sameQueue(a: QueueInfo | null, b: QueueInfo | undefined): boolean {
  if (a === null || b === undefined) return a === null && b === undefined;
  return a.position === b.position && a.reason === b.reason && a.estimated_start === b.estimated_start;
}
