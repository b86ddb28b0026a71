import { rm } from 'node:fs/promises';
import * as path from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { isTerminalJobState, type SchedulerJobs } from '@aiplane/contracts';
import type { SchedulerJob } from '@aiplane/jobs';
import { RecipeCatalogue } from '@aiplane/recipes';
import { ServiceRegistry, serviceGenerations } from '@aiplane/registry';
import type { Scheduler } from '@aiplane/scheduler';
import type { Logger } from '@aiplane/server-kit';
import { CONFIG, LOGGER, SCHEDULER } from '../platform/platform.module';
import type { SlurmWorkerConfig } from '../slurm-worker.config';
import { newApiKey } from './job-environment';
import { planSubmission } from './submission.records';
import { SubmitHandler } from './submit.handler';

type Result = SchedulerJobs['wake']['result'];

/**
 * Starts an idle service again: a new scheduler job under the same service id, named with the
 * next generation, so an attempt that follows a crash adopts the job an earlier one submitted
 * rather than submitting a second. It runs in its generation's directory; a vector database finds
 * its storage again under the submission's, as a rollover successor does.
 */
@Injectable()
export class WakeHandler {
  constructor(
    private readonly registry: ServiceRegistry,
    private readonly recipes: RecipeCatalogue,
    private readonly submitter: SubmitHandler,
    @Inject(SCHEDULER) private readonly scheduler: Scheduler,
    @Inject(CONFIG) private readonly config: SlurmWorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async handle(job: SchedulerJob<'wake'>): Promise<Result> {
    const { serviceId, jobId: stoppedJobId } = job.data;
    const service = await this.registry.get(serviceId);
    if (service?.idle_since === undefined || service.job_id !== stoppedJobId) {
      // Already started again (or cancelled meanwhile): nothing left to do for this request.
      if (service?.idle_since === undefined) await this.registry.dropWakeRequest(serviceId);
      return { serviceId, jobId: service?.job_id ?? null };
    }
    const submission = await this.registry.getSubmission(service.submission_id);
    if (!submission)
      throw new UnrecoverableError(`service ${serviceId} cannot start again: its submission is gone`);
    const generation = service.generation + 1;
    const plan = planSubmission(submission, this.recipes, this.config.STATE_DIR, generation);
    const node = plan.nodes[0];
    if (plan.grouped || !node || plan.nodes.length !== 1)
      throw new UnrecoverableError(
        `service ${serviceId} is a replica group; groups are not stopped for idleness`,
      );

    // Two workloads on one storage directory would corrupt it: the stopped job must be gone first.
    const stopped = (await this.scheduler.query([stoppedJobId])).get(stoppedJobId);
    if (stopped && !isTerminalJobState(stopped.state))
      throw new Error(`job ${stoppedJobId} of idle service ${serviceId} is still ${stopped.state}; retrying`);

    // The stopped job's endpoint and exit status would read as the new job's own.
    if (!(await this.scheduler.findByName(node.jobName))) {
      await Promise.all(
        ['endpoint', 'exit_code'].map((file) => rm(path.join(node.jobDir, file), { force: true })),
      );
    }
    const apiKey = service.api_key ?? newApiKey();
    const jobId = await this.submitter.submitOnce(node.jobName, node.jobDir, {
      recipe: plan.recipe,
      effective: plan.effective,
      nodeIndex: node.nodeIndex,
      apiKey,
      storageDir: this.submitter.storageDir(submission.id),
    });
    // The stopped job ended when the service went idle; the new one joins the history.
    const generations = [
      ...serviceGenerations(service).map((entry) =>
        entry.job_id === stoppedJobId && entry.ended_at === null
          ? { ...entry, ended_at: service.idle_since ?? null }
          : entry,
      ),
      { job_id: jobId, started_at: null, ended_at: null },
    ];
    const next = { jobId, generation, apiKey, jobDir: node.jobDir, generations };
    if (await this.registry.recordWake(serviceId, stoppedJobId, next)) {
      this.logger.info({ service_id: serviceId, job_id: jobId, generation }, 'idle service started again');
      return { serviceId, jobId };
    }
    const now = await this.registry.get(serviceId);
    if (now?.job_id !== jobId) {
      // Cancelled while this job was being submitted: the job must not run unowned.
      await this.scheduler.cancel(jobId);
      this.logger.warn(
        { service_id: serviceId, job_id: jobId },
        'service left idle meanwhile; new job cancelled',
      );
    }
    return { serviceId, jobId: now?.job_id ?? null };
  }
}
