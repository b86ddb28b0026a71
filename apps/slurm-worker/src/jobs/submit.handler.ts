import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { redactSecrets, schedulerJobName, type SchedulerJobs } from '@aiplane/contracts';
import type { SchedulerJob } from '@aiplane/jobs';
import { mergeConfig, RecipeCatalogue, renderBatchScript } from '@aiplane/recipes';
import { ServiceRegistry, type Submission } from '@aiplane/registry';
import { SchedulerError, type Scheduler } from '@aiplane/scheduler';
import type { Logger } from '@aiplane/server-kit';
import { CONFIG, LOGGER, SCHEDULER } from '../platform/platform.module';
import type { SlurmWorkerConfig } from '../slurm-worker.config';
import { buildJobEnvironment } from './job-environment';

type Result = SchedulerJobs['submit']['result'];

@Injectable()
export class SubmitHandler {
  constructor(
    private readonly registry: ServiceRegistry,
    private readonly recipes: RecipeCatalogue,
    @Inject(SCHEDULER) private readonly scheduler: Scheduler,
    @Inject(CONFIG) private readonly config: SlurmWorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Idempotent by construction: a submission that already has a job, or whose tagged job the
   * scheduler already knows (a crash between sbatch and the record write), is never submitted again.
   */
  async handle(job: SchedulerJob<'submit'>): Promise<Result> {
    const { submissionId } = job.data;
    const submission = await this.registry.getSubmission(submissionId);
    if (!submission) throw new UnrecoverableError(`submission ${submissionId} does not exist (expired?)`);
    if (submission.job_id) return { serviceId: submission.job_id };

    const recipe = this.recipes.resolve(submission.recipe_name);
    if (!recipe)
      throw new UnrecoverableError(`recipe ${submission.recipe_name} is not in this worker's catalogue`);
    const effective = mergeConfig(recipe, submission.config);
    const jobName = schedulerJobName(submissionId);
    const jobDir = path.join(this.config.STATE_DIR, 'jobs', submissionId);

    const existing = await this.scheduler.findByName(jobName);
    let jobId: string;
    if (existing) {
      jobId = existing.jobId;
      this.logger.warn(
        { job_id: jobId, submission_id: submissionId },
        'adopting job submitted by an earlier attempt',
      );
    } else {
      await fs.mkdir(jobDir, { recursive: true, mode: 0o700 });
      const script = renderBatchScript({
        recipe,
        config: effective,
        profile: this.config.RUNTIME_PROFILE,
        jobName,
        jobDir,
        ...(this.config.CLUSTER_MODULES ? { modules: this.config.CLUSTER_MODULES } : {}),
      });
      jobId = await this.submit({
        script,
        jobName,
        jobDir,
        stdoutPath: path.join(jobDir, 'stdout.log'),
        stderrPath: path.join(jobDir, 'stderr.log'),
        env: buildJobEnvironment(effective.environment, this.config),
      });
      this.logger.info(
        { job_id: jobId, submission_id: submissionId, scheduler: this.scheduler.kind },
        'job submitted',
      );
    }
    await this.recordService(submission, jobId, jobDir, recipe.kind, recipe.readiness.path);
    return { serviceId: jobId };
  }

  private async submit(request: Parameters<Scheduler['submit']>[0]): Promise<string> {
    try {
      return await this.scheduler.submit(request);
    } catch (error) {
      // A refusal will be refused again; only an unreachable scheduler is worth retrying.
      if (error instanceof SchedulerError && error.code !== 'UNAVAILABLE')
        throw new UnrecoverableError(error.message);
      throw error;
    }
  }

  private async recordService(
    submission: Submission,
    jobId: string,
    jobDir: string,
    kind: 'vllm' | 'qdrant',
    readinessPath: string,
  ): Promise<void> {
    if (!(await this.registry.exists(jobId))) {
      const now = new Date().toISOString();
      await this.registry.createService({
        id: jobId,
        job_id: jobId,
        name: `${submission.recipe_name}-${jobId}`,
        recipe_name: submission.recipe_name,
        kind,
        config: redactSecrets(submission.config),
        created_at: now,
        updated_at: now,
        submission_id: submission.id,
        job_dir: jobDir,
        readiness_path: readinessPath,
        scheduler_state: 'PENDING',
        endpoint: null,
        node: null,
        ready: false,
        status_reason: null,
        exit_code: null,
        last_probe_at: null,
      });
    }
    await this.registry.markSubmitted(submission, jobId);
  }
}
