import { realpathSync } from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { isTerminalJobState, JOB_NAME_PREFIX } from '@aiplane/contracts';
import { RecipeCatalogue } from '@aiplane/recipes';
import { ServiceRegistry } from '@aiplane/registry';
import type { JobInfo, Scheduler } from '@aiplane/scheduler';
import type { Logger } from '@aiplane/server-kit';
import { CONFIG, LOGGER, SCHEDULER } from '../platform/platform.module';
import type { SlurmWorkerConfig } from '../slurm-worker.config';
import { PollHandler } from './poll.handler';
import { jobsRoot, planSubmission, recordSubmission, type SubmittedJob } from './submission.records';

/** `aiplane-<submission id>` or, for a group's node job, `aiplane-<submission id>-n<node>`. */
const OWNED_NAME = new RegExp(`^${JOB_NAME_PREFIX}([A-Za-z0-9]+)(?:-n(\\d+))?$`);

export interface ReconcileReport {
  /** Jobs of this deployment the scheduler still reports. */
  owned: number;
  /** Jobs that had no record and got one from their submission. */
  adopted: string[];
  /** Jobs that had no record and no submission to make one from: cancelled. */
  cancelled: string[];
  /** Incomplete groups whose submit job is still queued or running: it will finish them. */
  leftToQueue: string[];
  /** Records the poll moved, including those whose jobs vanished while no worker ran. */
  recordsChanged: number;
}

/** Whether the submit job of a submission is still queued or running. */
export type SubmitPending = (submissionId: string) => Promise<boolean>;

/**
 * Brings the registry and the scheduler back in line when a worker starts: a worker killed between
 * sbatch and the record write leaves a job nobody can see, and records of jobs that ended while no
 * worker ran still say they run. Jobs are this deployment's when they carry the job name prefix
 * and run in a directory under this worker's state dir: other deployments, and other test stacks
 * on one cluster account, use the same prefix and are never touched.
 */
@Injectable()
export class SchedulerReconciler {
  constructor(
    private readonly registry: ServiceRegistry,
    private readonly recipes: RecipeCatalogue,
    private readonly poll: PollHandler,
    @Inject(SCHEDULER) private readonly scheduler: Scheduler,
    @Inject(CONFIG) private readonly config: SlurmWorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async reconcile(submitPending: SubmitPending): Promise<ReconcileReport> {
    const listed = await this.scheduler.listByNamePrefix(JOB_NAME_PREFIX);
    const owned = listed.filter((job) => this.isOurs(job));
    const report: ReconcileReport = {
      owned: owned.length,
      adopted: [],
      cancelled: [],
      leftToQueue: [],
      recordsChanged: 0,
    };
    // One pipelined read for all of them. Recorded means a record of this job's own submission: a
    // record under the same id from an older submission is one whose id the scheduler handed out
    // again, and does not count.
    const records = new Map(
      (await this.registry.getMany(owned.map((job) => job.jobId))).map((record) => [record.id, record]),
    );
    const recorded = new Set(
      owned
        .filter((job) => records.get(job.jobId)?.submission_id === OWNED_NAME.exec(job.name)?.[1])
        .map((job) => job.jobId),
    );

    const bySubmission = new Map<string, JobInfo[]>();
    for (const job of owned.filter((candidate) => !recorded.has(candidate.jobId))) {
      const submissionId = OWNED_NAME.exec(job.name)?.[1];
      if (submissionId === undefined) {
        this.logger.warn(
          { job_id: job.jobId, job_name: job.name },
          'job in our state dir has a foreign name; left alone',
        );
        continue;
      }
      bySubmission.set(submissionId, [...(bySubmission.get(submissionId) ?? []), job]);
    }
    for (const [submissionId, unrecorded] of bySubmission) {
      await this.reconcileSubmission(submissionId, unrecorded, owned, recorded, submitPending, report);
    }
    // Records whose jobs ended, or vanished from the scheduler, while no worker ran.
    report.recordsChanged = (await this.poll.handle()).changed;
    return report;
  }

  private async reconcileSubmission(
    submissionId: string,
    unrecorded: readonly JobInfo[],
    owned: readonly JobInfo[],
    recorded: ReadonlySet<string>,
    submitPending: SubmitPending,
    report: ReconcileReport,
  ): Promise<void> {
    const submission = await this.registry.getSubmission(submissionId);
    if (!submission || submission.job_id !== undefined) {
      // Without a submission nothing can describe the job (and no client knows it); with one
      // already answered, the job is a duplicate. Either way it only holds resources.
      const why = submission ? `a duplicate of ${submission.job_id ?? '?'}` : 'no submission';
      await this.cancelAll(unrecorded, why, report);
      return;
    }
    let plan;
    try {
      plan = planSubmission(submission, this.recipes, this.config.STATE_DIR);
    } catch (error) {
      await this.cancelAll(unrecorded, `its submission cannot be planned: ${messageOf(error)}`, report);
      return;
    }
    // The job of each node: the recorded one if any, else the newest, as the submit handler adopts.
    const chosen = plan.nodes.map((node) => {
      const named = owned.filter((job) => job.name === node.jobName);
      return named.find((job) => recorded.has(job.jobId)) ?? newest(named);
    });
    const duplicates = unrecorded.filter((job) => !chosen.includes(job));
    if (duplicates.length > 0) await this.cancelAll(duplicates, 'a duplicate of an adopted job', report);

    const jobs: SubmittedJob[] = [];
    for (const [index, job] of chosen.entries()) {
      const node = plan.nodes[index];
      if (!job || !node) break;
      const apiKey = submission.api_keys?.[node.nodeIndex];
      jobs.push({ jobId: job.jobId, jobDir: node.jobDir, ...(apiKey === undefined ? {} : { apiKey }) });
    }
    if (jobs.length === plan.nodes.length) {
      const serviceId = await recordSubmission(this.registry, submission, plan, jobs, this.logger);
      const adopted = jobs.map(({ jobId }) => jobId).filter((jobId) => !recorded.has(jobId));
      report.adopted.push(...adopted);
      this.logger.warn(
        { submission_id: submissionId, service_id: serviceId, job_ids: adopted },
        'adopted jobs that had no record',
      );
      return;
    }
    // Part of a group: its submit job, if still alive, submits the rest and records them all.
    if (await submitPending(submissionId)) {
      report.leftToQueue.push(...unrecorded.map((job) => job.jobId));
      return;
    }
    await this.cancelAll(
      unrecorded.filter((job) => !duplicates.includes(job)),
      'part of a group whose submission was abandoned',
      report,
    );
  }

  private async cancelAll(jobs: readonly JobInfo[], why: string, report: ReconcileReport): Promise<void> {
    for (const job of jobs) {
      if (isTerminalJobState(job.state)) continue;
      await this.scheduler.cancel(job.jobId);
      report.cancelled.push(job.jobId);
      this.logger.warn(
        { job_id: job.jobId, job_name: job.name, state: job.state, reason: why },
        'cancelled a job that had no record',
      );
    }
  }

  private isOurs(job: JobInfo): boolean {
    if (job.workDir === undefined) return false;
    const dir = path.resolve(job.workDir);
    return this.roots().some((root) => dir.startsWith(`${root}${path.sep}`));
  }

  // The scheduler reports the directory sbatch ran in as the kernel resolved it, symlinks followed.
  private roots(): string[] {
    const root = jobsRoot(this.config.STATE_DIR);
    try {
      return [...new Set([root, realpathSync(root)])];
    } catch {
      return [root];
    }
  }
}

function newest(jobs: readonly JobInfo[]): JobInfo | undefined {
  return jobs.reduce<JobInfo | undefined>(
    (best, job) => (!best || BigInt(job.jobId) > BigInt(best.jobId) ? job : best),
    undefined,
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
