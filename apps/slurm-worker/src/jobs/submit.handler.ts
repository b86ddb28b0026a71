import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { groupIdOf, redactSecrets, schedulerJobName, type SchedulerJobs } from '@aiplane/contracts';
import type { SchedulerJob } from '@aiplane/jobs';
import {
  mergeConfig,
  RecipeCatalogue,
  renderBatchScript,
  replicasPerNode,
  type EffectiveConfig,
  type Recipe,
} from '@aiplane/recipes';
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
    const grouped = effective.gpu_per_replica !== undefined;
    // A replica group is one scheduler job per node; a single service is one job.
    const nodes = grouped ? effective.resources.nodes : 1;
    const baseDir = path.join(this.config.STATE_DIR, 'jobs', submissionId);
    const jobs: { jobId: string; jobDir: string }[] = [];
    try {
      for (let nodeIndex = 0; nodeIndex < nodes; nodeIndex += 1) {
        const jobName = grouped
          ? `${schedulerJobName(submissionId)}-n${nodeIndex}`
          : schedulerJobName(submissionId);
        const jobDir = grouped ? path.join(baseDir, `n${nodeIndex}`) : baseDir;
        jobs.push({
          jobId: await this.submitOnce(jobName, jobDir, { recipe, effective, nodeIndex }),
          jobDir,
        });
      }
    } catch (error) {
      // A group is all or nothing: jobs of the nodes already submitted would otherwise run unowned.
      if (error instanceof UnrecoverableError) {
        await Promise.allSettled(jobs.map(({ jobId }) => this.scheduler.cancel(jobId)));
      }
      throw error;
    }
    const [first] = jobs;
    if (!first) throw new UnrecoverableError('no job was submitted');
    const groupId = grouped ? groupIdOf(first.jobId) : null;
    for (const [nodeIndex, job] of jobs.entries()) {
      await this.recordService(submission, job.jobId, job.jobDir, recipe, {
        groupId,
        nodeIndex: grouped ? nodeIndex : null,
        replicas: grouped ? replicasPerNode(effective) : 0,
        gpuPerReplica: effective.gpu_per_replica ?? 0,
      });
    }
    if (groupId !== null && !(await this.registry.getGroup(groupId))) {
      await this.registry.createGroup({
        id: groupId,
        job_ids: jobs.map(({ jobId }) => jobId),
        name: `${submission.recipe_name}-${groupId}`,
        recipe_name: submission.recipe_name,
        kind: recipe.kind,
        config: redactSecrets(submission.config),
        created_at: new Date().toISOString(),
        submission_id: submission.id,
        total_replicas: replicasPerNode(effective) * nodes,
        gpu_per_replica: effective.gpu_per_replica ?? 0,
        base_port: portPreference(recipe, effective),
      });
    }
    const serviceId = groupId ?? first.jobId;
    await this.registry.markSubmitted(submission, serviceId);
    return { serviceId };
  }

  /** Submits one job unless the scheduler already knows one with this name (an earlier attempt). */
  private async submitOnce(
    jobName: string,
    jobDir: string,
    plan: { recipe: Recipe; effective: EffectiveConfig; nodeIndex: number },
  ): Promise<string> {
    const existing = await this.scheduler.findByName(jobName);
    if (existing) {
      this.logger.warn(
        { job_id: existing.jobId, job_name: jobName },
        'adopting job submitted by an earlier attempt',
      );
      return existing.jobId;
    }
    await fs.mkdir(jobDir, { recursive: true, mode: 0o700 });
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
      env: buildJobEnvironment(plan.effective.environment, this.config),
    });
    this.logger.info({ job_id: jobId, job_name: jobName, scheduler: this.scheduler.kind }, 'job submitted');
    return jobId;
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
    recipe: Recipe,
    group: { groupId: string | null; nodeIndex: number | null; replicas: number; gpuPerReplica: number },
  ): Promise<void> {
    if (await this.registry.exists(jobId)) return;
    const now = new Date().toISOString();
    await this.registry.createService({
      id: jobId,
      job_id: jobId,
      name: `${submission.recipe_name}-${jobId}`,
      recipe_name: submission.recipe_name,
      kind: recipe.kind,
      config: redactSecrets(submission.config),
      created_at: now,
      updated_at: now,
      submission_id: submission.id,
      job_dir: jobDir,
      readiness_path: recipe.readiness.path,
      scheduler_state: 'PENDING',
      endpoint: null,
      node: null,
      ready: false,
      status_reason: null,
      exit_code: null,
      last_probe_at: null,
      group_id: group.groupId,
      node_index: group.nodeIndex,
      // GPU indices as the job sees them; replica i gets the i-th slice of gpu_per_replica.
      replicas: Array.from({ length: group.replicas }, (_, index) => ({
        index,
        gpu_ids: Array.from({ length: group.gpuPerReplica }, (_, g) =>
          String(index * group.gpuPerReplica + g),
        ),
        endpoint: null,
        ready: false,
        seen_ready: false,
      })),
    });
  }
}

/** The port replica 0 prefers: the user's port variable when given, else the recipe's base. */
function portPreference(recipe: Recipe, effective: EffectiveConfig): number {
  const wanted = Number(
    effective.environment[recipe.kind === 'vllm' ? 'VLLM_PORT' : 'QDRANT__SERVICE__HTTP_PORT'],
  );
  return Number.isInteger(wanted) && wanted > 0 ? wanted : recipe.ports.base;
}
