import { realpathSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import {
  isGroupId,
  isTerminalJobState,
  JOB_NAME_PREFIX,
  parseSchedulerJobName,
  type SchedulerJobNameParts,
} from '@aiplane/contracts';
import { RecipeCatalogue } from '@aiplane/recipes';
import { ServiceRegistry, type Submission } from '@aiplane/registry';
import type { JobInfo, Scheduler } from '@aiplane/scheduler';
import { readPrivateFile, UnsafePathError, type Logger } from '@aiplane/server-kit';
import { CONFIG, LOGGER, SCHEDULER } from '../platform/platform.module';
import type { SlurmWorkerConfig } from '../slurm-worker.config';
import { PollHandler } from './poll.handler';
import {
  FIRST_GENERATION,
  jobsRoot,
  planSubmission,
  recordSubmission,
  type SubmittedJob,
} from './submission.records';

/** Written into the directory of an unknown job kept running, so every later pass keeps it too. */
export const ORPHAN_MARKER = 'aiplane-orphan';

export interface ReconcileReport {
  /** Jobs of this deployment the scheduler still reports. */
  owned: number;
  /** Jobs that had no record and got one from their submission. */
  adopted: string[];
  /** Duplicates, abandoned group parts, and (within the limit) unknown jobs: cancelled. */
  cancelled: string[];
  /** Incomplete groups whose submit job is still queued or running: it will finish them. */
  leftToQueue: string[];
  /** Unrecorded jobs of a later generation than the submission's first: the rollover that started them records them. */
  successors: string[];
  /**
   * Running jobs nothing knows, kept because there were more than RECONCILE_CANCEL_UNKNOWN_MAX of
   * them: the records were probably lost, not the jobs orphaned.
   */
  orphaned: string[];
  /** Records the poll moved, including those whose jobs vanished while no worker ran. */
  recordsChanged: number;
}

/** Whether the submit job of a submission is still queued or running. */
export type SubmitPending = (submissionId: string) => Promise<boolean>;

interface OwnedJob {
  job: JobInfo;
  name: SchedulerJobNameParts;
}

/**
 * Brings the registry and the scheduler back in line, before the worker takes jobs from the queue
 * and then periodically: a worker killed between sbatch and the record write leaves a job nobody
 * can see, an sbatch that timed out may still have been accepted (so its retry's job is a
 * duplicate), and records of jobs that ended while no worker ran still say they run.
 *
 * Jobs are this deployment's when they carry the job name prefix and run in a directory under this
 * worker's state dir: other deployments, and other test stacks on one cluster account, use the same
 * prefix and are never touched. Every record is read again right before a cancel, so a job a submit
 * handler recorded while this pass ran is never taken for a duplicate.
 */
@Injectable()
export class SchedulerReconciler {
  /** Unknown jobs kept running; also marked in their directories (ORPHAN_MARKER). */
  private readonly keptOrphans = new Set<string>();

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
    const inOurDir = listed.filter((job) => this.isOurs(job));
    const report: ReconcileReport = {
      owned: inOurDir.length,
      adopted: [],
      cancelled: [],
      leftToQueue: [],
      successors: [],
      orphaned: [],
      recordsChanged: 0,
    };
    const owned: OwnedJob[] = [];
    for (const job of inOurDir) {
      const name = parseSchedulerJobName(job.name);
      if (name) owned.push({ job, name });
      else
        this.logger.warn(
          { job_id: job.jobId, job_name: job.name },
          'job in our state dir has a foreign name; left alone',
        );
    }
    const recorded = await this.recordedIds(owned);

    const bySubmission = new Map<string, OwnedJob[]>();
    for (const entry of owned.filter(({ job }) => !recorded.has(job.jobId))) {
      const id = entry.name.submissionId;
      bySubmission.set(id, [...(bySubmission.get(id) ?? []), entry]);
    }
    const unknown: OwnedJob[] = [];
    for (const [submissionId, unrecorded] of bySubmission) {
      const submission = await this.registry.getSubmission(submissionId);
      if (!submission) unknown.push(...unrecorded);
      else if (submission.job_id !== undefined)
        await this.reconcileAnswered(submission, unrecorded, owned, recorded, report);
      else await this.reconcileUnanswered(submission, unrecorded, owned, recorded, submitPending, report);
    }
    await this.reconcileUnknown(unknown, report);
    // Records whose jobs ended, or vanished from the scheduler, while no worker ran.
    report.recordsChanged = (await this.poll.handle()).changed;
    return report;
  }

  /**
   * A submission already answered with its jobs: an unrecorded job in a slot (generation, node) that
   * a recorded job holds is a duplicate, such as the second job of an sbatch that timed out after
   * the controller had accepted the first. A later generation no record holds yet is a successor.
   */
  private async reconcileAnswered(
    submission: Submission,
    unrecorded: readonly OwnedJob[],
    owned: readonly OwnedJob[],
    recorded: ReadonlySet<string>,
    report: ReconcileReport,
  ): Promise<void> {
    const answered = await this.answeredJobIds(submission);
    const duplicates: OwnedJob[] = [];
    for (const entry of unrecorded) {
      const holders = new Set(
        owned
          .filter((other) => recorded.has(other.job.jobId) && sameSlot(other.name, entry.name))
          .map((other) => other.job.jobId),
      );
      if (entry.name.generation === FIRST_GENERATION) {
        const first = answered[entry.name.nodeIndex ?? 0];
        if (first !== undefined) holders.add(first);
      }
      if (holders.has(entry.job.jobId)) continue;
      if (holders.size > 0) duplicates.push(entry);
      else if (!isTerminalJobState(entry.job.state)) {
        report.successors.push(entry.job.jobId);
        this.logger.info(
          { job_id: entry.job.jobId, job_name: entry.job.name },
          'unrecorded job of a later generation; left to the rollover that submitted it',
        );
      }
    }
    await this.cancelAll(duplicates, `a duplicate of submission ${submission.id}'s recorded job`, report);
  }

  private async reconcileUnanswered(
    submission: Submission,
    unrecorded: readonly OwnedJob[],
    owned: readonly OwnedJob[],
    recorded: ReadonlySet<string>,
    submitPending: SubmitPending,
    report: ReconcileReport,
  ): Promise<void> {
    let plan;
    try {
      plan = planSubmission(submission, this.recipes, this.config.STATE_DIR);
    } catch (error) {
      await this.cancelAll(unrecorded, `its submission cannot be planned: ${messageOf(error)}`, report);
      return;
    }
    // The job of each node: the recorded one if any, else the newest, as the submit handler adopts.
    const chosen = plan.nodes.map((node) => {
      const slot = { generation: FIRST_GENERATION, ...(plan.grouped ? { nodeIndex: node.nodeIndex } : {}) };
      const named = owned
        .filter(({ name }) => name.submissionId === submission.id && sameSlot(name, slot))
        .map(({ job }) => job);
      return named.find((job) => recorded.has(job.jobId)) ?? newest(named);
    });
    const duplicates = unrecorded.filter(({ job }) => !chosen.includes(job));
    if (duplicates.length > 0) await this.cancelAll(duplicates, 'a duplicate of an adopted job', report);

    const jobs: SubmittedJob[] = [];
    for (const [index, job] of chosen.entries()) {
      const node = plan.nodes[index];
      if (!job || !node) break;
      const apiKey = submission.api_keys?.[node.nodeIndex];
      jobs.push({ jobId: job.jobId, jobDir: node.jobDir, ...(apiKey === undefined ? {} : { apiKey }) });
    }
    if (jobs.length === plan.nodes.length) {
      const serviceId = await recordSubmission(
        this.registry,
        submission,
        plan,
        jobs,
        this.logger,
        this.scheduler.kind,
      );
      const adopted = jobs.map(({ jobId }) => jobId).filter((jobId) => !recorded.has(jobId));
      report.adopted.push(...adopted);
      this.logger.warn(
        { submission_id: submission.id, service_id: serviceId, job_ids: adopted },
        'adopted jobs that had no record',
      );
      return;
    }
    // Part of a group: its submit job, if still alive, submits the rest and records them all.
    if (await submitPending(submission.id)) {
      report.leftToQueue.push(...unrecorded.map(({ job }) => job.jobId));
      return;
    }
    await this.cancelAll(
      unrecorded.filter((entry) => !duplicates.includes(entry)),
      'part of a group whose submission was abandoned',
      report,
    );
  }

  /**
   * Jobs neither a record nor a submission knows. A few are leftovers (a submission that expired
   * before its job was recorded) and only hold resources; many at once mean the records are gone,
   * and cancelling would take down every service of the deployment, so they are kept running.
   * A job once kept stays kept (a marker in its directory outlives this process and Redis): the
   * user cancelling some of them must not bring the rest under the limit.
   */
  private async reconcileUnknown(unknown: readonly OwnedJob[], report: ReconcileReport): Promise<void> {
    const live = unknown.filter(({ job }) => !isTerminalJobState(job.state));
    if (this.config.RECONCILE_CANCEL_UNKNOWN) {
      await this.cancelAll(live, 'no record and no submission (RECONCILE_CANCEL_UNKNOWN)', report);
      return;
    }
    const kept: OwnedJob[] = [];
    const fresh: OwnedJob[] = [];
    for (const entry of live) ((await this.isKeptOrphan(entry.job)) ? kept : fresh).push(entry);
    const limit = this.config.RECONCILE_CANCEL_UNKNOWN_MAX;
    if (fresh.length <= limit) await this.cancelAll(fresh, 'no record and no submission', report);
    else {
      for (const { job } of fresh) await this.keepOrphan(job);
      kept.push(...fresh);
      this.logger.error(
        {
          job_ids: fresh.map(({ job }) => job.jobId),
          job_names: fresh.map(({ job }) => job.name),
          limit,
          prefix: this.config.REDIS_PREFIX,
        },
        `${fresh.length} running jobs in this state dir have no record and no submission: more than ` +
          `RECONCILE_CANCEL_UNKNOWN_MAX=${limit}, so they are kept running. Lost Redis data or a wrong ` +
          'REDIS_PREFIX? Cancel them with scancel, or set RECONCILE_CANCEL_UNKNOWN=true to let the worker do it.',
      );
    }
    report.orphaned.push(...kept.map(({ job }) => job.jobId));
  }

  private async isKeptOrphan(job: JobInfo): Promise<boolean> {
    if (this.keptOrphans.has(job.jobId)) return true;
    if (job.workDir === undefined) return false;
    try {
      const marker = await readPrivateFile(path.join(job.workDir, ORPHAN_MARKER), 64);
      return marker?.toString('utf8').trim() === job.jobId;
    } catch (error) {
      if (error instanceof UnsafePathError) return false;
      throw error;
    }
  }

  private async keepOrphan(job: JobInfo): Promise<void> {
    this.keptOrphans.add(job.jobId);
    if (job.workDir === undefined) return;
    try {
      // The job id inside: a later job of the same directory is not covered by it.
      await writeFile(path.join(job.workDir, ORPHAN_MARKER), `${job.jobId}\n`, { flag: 'wx', mode: 0o600 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
      this.logger.warn(
        { job_id: job.jobId, err: error },
        'could not mark a kept job in its directory; it is kept until this worker restarts',
      );
    }
  }

  /** Cancels the live ones among `jobs`, except any that a record claims by the time of the cancel. */
  private async cancelAll(jobs: readonly OwnedJob[], why: string, report: ReconcileReport): Promise<void> {
    const live = jobs.filter(({ job }) => !isTerminalJobState(job.state));
    if (live.length === 0) return;
    const claimed = await this.recordedIds(live);
    for (const { job } of live) {
      if (claimed.has(job.jobId)) continue;
      await this.scheduler.cancel(job.jobId);
      report.cancelled.push(job.jobId);
      this.logger.warn(
        { job_id: job.jobId, job_name: job.name, state: job.state, reason: why },
        'cancelled a job that had no record',
      );
    }
  }

  /**
   * The jobs among `jobs` whose record is of their own submission, read now. A record under the
   * same id from an older submission is one whose id the scheduler handed out again: it does not count.
   */
  private async recordedIds(jobs: readonly OwnedJob[]): Promise<Set<string>> {
    const records = new Map(
      (await this.registry.getMany(jobs.map(({ job }) => job.jobId))).map((record) => [record.id, record]),
    );
    return new Set(
      jobs
        .filter(({ job, name }) => records.get(job.jobId)?.submission_id === name.submissionId)
        .map(({ job }) => job.jobId),
    );
  }

  /** The first-generation job id of each node the submission was answered with, in node order. */
  private async answeredJobIds(submission: Submission): Promise<(string | undefined)[]> {
    const serviceId = submission.job_id;
    if (serviceId === undefined) return [];
    if (!isGroupId(serviceId)) return [serviceId];
    return (await this.registry.getGroup(serviceId))?.job_ids ?? [];
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

function sameSlot(
  a: Pick<SchedulerJobNameParts, 'generation' | 'nodeIndex'>,
  b: Pick<SchedulerJobNameParts, 'generation' | 'nodeIndex'>,
): boolean {
  return a.generation === b.generation && a.nodeIndex === b.nodeIndex;
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
