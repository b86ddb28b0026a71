import * as path from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import type { SchedulerJobs } from '@aiplane/contracts';
import type { SchedulerJob } from '@aiplane/jobs';
import {
  RecipeCatalogue,
  renderBatchScript,
  replicasPerNode,
  type EffectiveConfig,
  type Recipe,
} from '@aiplane/recipes';
import { ServiceRegistry } from '@aiplane/registry';
import type { Scheduler } from '@aiplane/scheduler';
import { ensurePrivateSubdir, UnsafePathError, type Logger } from '@aiplane/server-kit';
import { refusalsAreFinal } from './job-failures';
import { CONFIG, LOGGER, SCHEDULER } from '../platform/platform.module';
import type { SlurmWorkerConfig } from '../slurm-worker.config';
import { buildJobEnvironment, newApiKey } from './job-environment';
import { planSubmission, recordSubmission, submissionDir } from './submission.records';

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

    // Planning and recording are shared with the start-up reconciliation (submission.records.ts).
    const plan = planSubmission(submission, this.recipes, this.config.STATE_DIR);
    const { recipe, effective } = plan;
    const nodes = plan.nodes.length;
    // Stored before any sbatch: a retry that adopts a job an earlier attempt submitted (before its
    // record was written) must know the key that job was started with.
    const apiKeys = await this.registry.claimApiKeys(
      submissionId,
      Array.from({ length: nodes }, () => newApiKey()),
    );
    if (!apiKeys) throw new UnrecoverableError(`submission ${submissionId} does not exist (expired?)`);
    const jobs: { jobId: string; jobDir: string; apiKey: string }[] = [];
    try {
      for (const { nodeIndex, jobName, jobDir } of plan.nodes) {
        const apiKey = apiKeys[nodeIndex];
        if (apiKey === undefined)
          throw new UnrecoverableError(`submission ${submissionId} has no API key for node ${nodeIndex}`);
        jobs.push({
          jobId: await this.submitOnce(jobName, jobDir, {
            recipe,
            effective,
            nodeIndex,
            apiKey,
            storageDir: this.storageDir(submissionId),
          }),
          jobDir,
          apiKey,
        });
      }
    } catch (error) {
      // A group is all or nothing: jobs of the nodes already submitted would otherwise run unowned.
      if (error instanceof UnrecoverableError) {
        await Promise.allSettled(jobs.map(({ jobId }) => this.scheduler.cancel(jobId)));
      }
      throw error;
    }
    return {
      serviceId: await recordSubmission(
        this.registry,
        submission,
        plan,
        jobs,
        this.logger,
        this.scheduler.kind,
      ),
    };
  }

  /**
   * Submits one job unless the scheduler already knows one with this name (an earlier attempt).
   * The rollover handler submits successors through it too, and the wake handler an idle service's next job.
   */
  async submitOnce(
    jobName: string,
    jobDir: string,
    plan: {
      recipe: Recipe;
      effective: EffectiveConfig;
      nodeIndex: number;
      apiKey: string;
      storageDir?: string;
    },
  ): Promise<string> {
    const existing = await this.scheduler.findByName(jobName);
    if (existing) {
      this.logger.warn(
        { job_id: existing.jobId, job_name: jobName },
        'adopting job submitted by an earlier attempt',
      );
      return existing.jobId;
    }
    // The job dir is where logs, the endpoint and the exit code are read back from: the user's own.
    await ensurePrivateSubdir(this.config.STATE_DIR, jobDir).catch((error: unknown) => {
      throw error instanceof UnsafePathError ? new UnrecoverableError(error.message) : error;
    });
    const script = renderBatchScript({
      recipe: plan.recipe,
      config: plan.effective,
      profile: this.config.RUNTIME_PROFILE,
      jobName,
      jobDir,
      nodeIndex: plan.nodeIndex,
      ...(this.config.CLUSTER_MODULES ? { modules: this.config.CLUSTER_MODULES } : {}),
    });
    const jobId = await this.submit({
      script,
      jobName,
      jobDir,
      stdoutPath: path.join(jobDir, 'stdout.log'),
      stderrPath: path.join(jobDir, 'stderr.log'),
      env: buildJobEnvironment(storageEnvironment(plan), this.config, {
        kind: plan.recipe.kind,
        apiKey: plan.apiKey,
        ...(plan.effective.gpu_per_replica === undefined
          ? {}
          : { replicas: replicasPerNode(plan.effective) }),
      }),
    });
    this.logger.info({ job_id: jobId, job_name: jobName, scheduler: this.scheduler.kind }, 'job submitted');
    return jobId;
  }

  /** The submission's directory, where a vector database's data outlives each of its jobs. */
  storageDir(submissionId: string): string {
    return submissionDir(this.config.STATE_DIR, submissionId);
  }

  private submit(request: Parameters<Scheduler['submit']>[0]): Promise<string> {
    return refusalsAreFinal(() => this.scheduler.submit(request));
  }
}

/**
 * A vector database keeps its data per service, not per job: unless the user chose a storage path,
 * every generation's job uses the one under the submission's directory, so a rollover (stop, then
 * start on the same storage) loses nothing.
 */
function storageEnvironment(plan: {
  recipe: Recipe;
  effective: EffectiveConfig;
  storageDir?: string;
}): Record<string, string> {
  const environment = plan.effective.environment;
  if (plan.recipe.kind !== 'qdrant' || plan.storageDir === undefined) return environment;
  if (environment.QDRANT__STORAGE__STORAGE_PATH !== undefined) return environment;
  return { ...environment, QDRANT__STORAGE__STORAGE_PATH: path.join(plan.storageDir, 'qdrant', 'storage') };
}
