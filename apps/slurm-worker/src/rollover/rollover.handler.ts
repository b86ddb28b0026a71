import { Inject, Injectable } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { isGroupId, isTerminalJobState, type SchedulerJobs } from '@aiplane/contracts';
import type { SchedulerJob } from '@aiplane/jobs';
import { RecipeCatalogue, replicasPerNode } from '@aiplane/recipes';
import { serviceGenerations, ServiceRegistry, type StoredService, type Submission } from '@aiplane/registry';
import type { Scheduler } from '@aiplane/scheduler';
import type { Logger } from '@aiplane/server-kit';
import { CONFIG, LOGGER, SCHEDULER } from '../platform/platform.module';
import type { SlurmWorkerConfig } from '../slurm-worker.config';
import { newApiKey } from '../jobs/job-environment';
import { refusalsAreFinal } from '../jobs/job-failures';
import { planSubmission, recordService, type SubmissionPlan } from '../jobs/submission.records';
import { SubmitHandler } from '../jobs/submit.handler';

type RolloverResult = SchedulerJobs['rollover']['result'];
type RetireResult = SchedulerJobs['retire']['result'];

/** How long a vector database's rollover waits for its old job to let go of the storage. */
const STOP_WAIT_MS = 60_000;
const STOP_POLL_MS = 500;

/**
 * The two queue jobs of a walltime rollover (the planner enqueues them): `rollover` submits the
 * successor of a service or group (a vector database: stops the old job first, then starts the new
 * one on the same storage), `retire` cancels the jobs a successor took over from once they drained.
 * Both are safe to repeat: a successor is found again by its job name, a cancel of an ended job is
 * a success.
 */
@Injectable()
export class RolloverHandler {
  constructor(
    private readonly registry: ServiceRegistry,
    private readonly recipes: RecipeCatalogue,
    private readonly submitter: SubmitHandler,
    @Inject(SCHEDULER) private readonly scheduler: Scheduler,
    @Inject(CONFIG) private readonly config: SlurmWorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async rollover(job: SchedulerJob<'rollover'>): Promise<RolloverResult> {
    const { serviceId, generation } = job.data;
    return isGroupId(serviceId)
      ? this.rolloverGroup(serviceId, generation)
      : this.rolloverSingle(serviceId, generation);
  }

  private async submissionOf(submissionId: string, serviceId: string): Promise<Submission> {
    const submission = await this.registry.getSubmission(submissionId);
    if (!submission)
      throw new UnrecoverableError(`the submission of ${serviceId} is gone: no successor can be started`);
    await this.registry.keepSubmission(submissionId);
    return submission;
  }

  /** Submits the successor's node jobs with fresh keys, claimed first so that a retry reuses them. */
  private async submitGeneration(
    submission: Submission,
    plan: SubmissionPlan,
  ): Promise<{ jobId: string; jobDir: string; apiKey: string }[]> {
    const keys = await this.registry.claimApiKeys(
      submission.id,
      plan.nodes.map(() => newApiKey()),
    );
    if (!keys) throw new UnrecoverableError(`submission ${submission.id} is gone`);
    const jobs: { jobId: string; jobDir: string; apiKey: string }[] = [];
    for (const node of plan.nodes) {
      const apiKey = keys[node.nodeIndex];
      if (apiKey === undefined) throw new UnrecoverableError(`no key for node ${node.nodeIndex}`);
      const jobId = await refusalsAreFinal(() =>
        this.submitter.submitOnce(node.jobName, node.jobDir, {
          recipe: plan.recipe,
          effective: plan.effective,
          nodeIndex: node.nodeIndex,
          apiKey,
          storageDir: this.submitter.storageDir(submission.id),
        }),
      );
      jobs.push({ jobId, jobDir: node.jobDir, apiKey });
    }
    return jobs;
  }

  private async rolloverSingle(serviceId: string, generation: number): Promise<RolloverResult> {
    const service = await this.registry.getOwn(serviceId);
    if (!service || isTerminalJobState(service.scheduler_state) || service.generation >= generation)
      return { jobIds: [] };
    // Done already, unless an attempt died between naming the successor and recording it, or a
    // vector database's restart has not moved the record on yet (each of its steps is repeatable).
    if (
      service.successor_id &&
      service.stopping_job_id !== service.job_id &&
      (await this.registry.getOwn(service.successor_id))
    )
      return { jobIds: [service.successor_id] };
    const submission = await this.submissionOf(service.submission_id, serviceId);
    const plan = planSubmission(submission, this.recipes, this.config.STATE_DIR, generation);
    if (plan.recipe.kind === 'qdrant') return this.restart(service, submission, plan, generation);
    const [next] = await this.submitGeneration(submission, plan);
    if (!next) throw new UnrecoverableError('no successor job was submitted');
    // The service names its successor before the successor's record exists: the planner cancels
    // a successor record its service does not name.
    await this.registry.setRollover(serviceId, {
      state: 'successor_pending',
      message: `successor job ${next.jobId} is queued`,
      successorId: next.jobId,
    });
    await this.recordSuccessor(submission, next, plan, generation, serviceId);
    await this.registry.clearApiKeys(submission.id);
    this.logger.info(
      { service_id: serviceId, job_id: next.jobId, generation },
      'rollover successor submitted',
    );
    return { jobIds: [next.jobId] };
  }

  /** A single service's successor gets a record of its own, naming the service it will take over. */
  private async recordSuccessor(
    submission: Submission,
    next: Parameters<typeof recordService>[3],
    plan: SubmissionPlan,
    generation: number,
    serviceId: string,
  ): Promise<void> {
    const single = { groupId: null, nodeIndex: null, replicas: 0, gpuPerReplica: 0 };
    await recordService(
      this.registry,
      this.logger,
      submission,
      next,
      plan.recipe,
      single,
      this.scheduler.kind,
      {
        generation,
        rolloverOf: serviceId,
      },
    );
  }

  /**
   * A vector database keeps its data on one storage, which two jobs must not open at once: the old
   * job is cancelled (Qdrant flushes on SIGTERM), and once it is gone the new one starts there.
   * Meanwhile the service reads as configuring, so its requests get 503 with Retry-After.
   */
  private async restart(
    service: StoredService,
    submission: Submission,
    plan: SubmissionPlan,
    generation: number,
  ): Promise<RolloverResult> {
    const old = service.job_id;
    await this.registry.setRollover(service.id, {
      state: 'restarting',
      message: `job ${old} stops so that its successor can start on the same storage; requests get 503 with Retry-After until it serves`,
      stoppingJobId: old,
    });
    await this.registry.setReadiness(service.id, false);
    // The proxy stops routing to it within its view's refresh; requests already sent finish.
    await new Promise((resolve) => setTimeout(resolve, this.config.ROLLOVER_DRAIN_MS));
    await refusalsAreFinal(() => this.scheduler.cancel(old));
    await this.waitGone(old);
    const [next] = await this.submitGeneration(submission, plan);
    if (!next) throw new UnrecoverableError('no successor job was submitted');
    await this.registry.setRollover(service.id, {
      state: 'restarting',
      message: `job ${next.jobId} starts on the same storage; requests get 503 with Retry-After until it serves`,
      successorId: next.jobId,
    });
    await this.recordSuccessor(submission, next, plan, generation, service.id);
    await this.registry.clearApiKeys(submission.id);
    const now = new Date().toISOString();
    const generations = serviceGenerations(service).map((entry) =>
      entry.job_id === old && entry.ended_at === null ? { ...entry, ended_at: now } : entry,
    );
    await this.registry.promoteSuccessor(
      service.id,
      next.jobId,
      {
        generations: [...generations, { job_id: next.jobId, started_at: null, ended_at: null }],
        state: 'restarting',
        message: `job ${next.jobId} starts on the same storage; requests get 503 with Retry-After until it serves`,
      },
      true,
    );
    this.logger.info(
      { service_id: service.id, from_job: old, to_job: next.jobId },
      'vector database restarted on its storage',
    );
    return { jobIds: [next.jobId] };
  }

  private async waitGone(jobId: string): Promise<void> {
    const until = Date.now() + STOP_WAIT_MS;
    while (Date.now() < until) {
      const info = (await this.scheduler.query([jobId])).get(jobId);
      if (!info || isTerminalJobState(info.state)) return;
      await new Promise((resolve) => setTimeout(resolve, STOP_POLL_MS));
    }
    throw new Error(`job ${jobId} did not end within ${STOP_WAIT_MS} ms of its cancel`);
  }

  private async rolloverGroup(groupId: string, generation: number): Promise<RolloverResult> {
    const view = await this.registry.getGroupView(groupId);
    if (!view) return { jobIds: [] };
    const { group } = view;
    if ((group.generation ?? 1) >= generation) return { jobIds: [] };
    if (group.next_job_ids?.length) return { jobIds: group.next_job_ids };
    if (view.jobs.every((job) => isTerminalJobState(job.scheduler_state))) return { jobIds: [] };
    const submission = await this.submissionOf(group.submission_id, groupId);
    const plan = planSubmission(submission, this.recipes, this.config.STATE_DIR, generation);
    const jobs = await this.submitGeneration(submission, plan);
    for (const [nodeIndex, job] of jobs.entries()) {
      await recordService(
        this.registry,
        this.logger,
        submission,
        job,
        plan.recipe,
        {
          groupId,
          nodeIndex,
          replicas: replicasPerNode(plan.effective),
          gpuPerReplica: plan.effective.gpu_per_replica ?? 0,
        },
        this.scheduler.kind,
        { generation, rolloverOf: null },
      );
    }
    await this.registry.clearApiKeys(submission.id);
    const jobIds = jobs.map(({ jobId }) => jobId);
    await this.registry.updateGroup(groupId, (current) => ({
      ...current,
      next_job_ids: jobIds,
      rollover: {
        state: 'successor_pending',
        message: `successor node jobs ${jobIds.join(', ')} are queued`,
      },
    }));
    this.logger.info({ group_id: groupId, job_ids: jobIds, generation }, 'rollover successors submitted');
    return { jobIds };
  }

  /** Cancels the jobs a successor took over from: by now they finished their in-flight requests. */
  async retire(job: SchedulerJob<'retire'>): Promise<RetireResult> {
    const { serviceId } = job.data;
    const now = new Date().toISOString();
    if (isGroupId(serviceId)) {
      const view = await this.registry.getGroupView(serviceId);
      const retiring = await this.registry.getMany(view?.group.retiring_job_ids ?? []);
      const cancelled: string[] = [];
      for (const old of retiring) {
        if (isTerminalJobState(old.scheduler_state)) continue;
        await refusalsAreFinal(() => this.scheduler.cancel(old.job_id));
        await this.registry.applySchedulerState(old.id, {
          state: 'CANCELLED',
          reason: 'replaced by its walltime rollover successor',
          endedAt: now,
        });
        cancelled.push(old.job_id);
      }
      await this.registry.updateGroup(serviceId, ({ retiring_job_ids: _gone, ...current }) => ({
        ...current,
        generations: (current.generations ?? []).map((entry) =>
          entry.job_id !== current.job_ids[0] && entry.ended_at === null
            ? { ...entry, ended_at: now }
            : entry,
        ),
        rollover:
          current.rollover?.state === 'draining' ? { state: 'scheduled', message: null } : current.rollover,
      }));
      this.logger.info({ group_id: serviceId, job_ids: cancelled }, 'rolled-over node jobs cancelled');
      return { cancelled };
    }
    const service = await this.registry.getOwn(serviceId);
    if (!service) return { cancelled: [] };
    const generations = serviceGenerations(service);
    const retiring = generations.filter(
      (entry) => entry.job_id !== service.job_id && entry.ended_at === null,
    );
    for (const entry of retiring) await refusalsAreFinal(() => this.scheduler.cancel(entry.job_id));
    await this.registry.setGenerations(
      serviceId,
      generations.map((entry) => (retiring.includes(entry) ? { ...entry, ended_at: now } : entry)),
    );
    if (service.rollover_state === 'draining' && !isTerminalJobState(service.scheduler_state))
      await this.registry.setRollover(serviceId, { state: 'scheduled', message: null });
    this.logger.info(
      { service_id: serviceId, job_ids: retiring.map((entry) => entry.job_id) },
      'rolled-over jobs cancelled',
    );
    return { cancelled: retiring.map((entry) => entry.job_id) };
  }
}
