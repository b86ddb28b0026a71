import { Inject, Injectable } from '@nestjs/common';
import { isTerminalJobState, type GenerationRecord, type RolloverJobPayload } from '@aiplane/contracts';
import {
  groupTimeline,
  serviceGenerations,
  ServiceRegistry,
  toGroupRecord,
  type GroupView,
  type StoredGroup,
  type StoredService,
} from '@aiplane/registry';
import type { JobInfo, Scheduler } from '@aiplane/scheduler';
import type { Logger } from '@aiplane/server-kit';
import { isTerminalGroupStatus } from '@aiplane/contracts';
import { CONFIG, LOGGER, SCHEDULER } from '../platform/platform.module';
import type { SlurmWorkerConfig } from '../slurm-worker.config';
import { PollFollower } from '../jobs/poll.handler';
import {
  afterThisJobMessage,
  deadlineMs,
  estimateDue,
  estimatedWait,
  expectedReadyMs,
  lateMessage,
  leadTimeMs,
  queueWaitMs,
  rolloverDue,
  rolloverFits,
  successorLate,
  tooShortWarning,
  type EstimatedWait,
  type JobWindow,
  type StartEstimate,
  type SuccessorView,
} from './rollover.rules';

/** Puts a rollover or retire job on the queue under its deterministic id (a repeat is a no-op). */
export type RolloverEnqueue = (
  name: 'rollover' | 'retire',
  payload: RolloverJobPayload,
  delayMs?: number,
) => Promise<boolean>;

type RolloverConfig = Pick<SlurmWorkerConfig, 'ROLLOVER_MARGIN_MS' | 'ROLLOVER_DRAIN_MS'>;

function ms(iso: string | null | undefined): number | null {
  if (iso === null || iso === undefined) return null;
  const value = Date.parse(iso);
  return Number.isNaN(value) ? null : value;
}

/** The current job's window: when it started and its time limit, as the poll's squeue read says. */
function windowOf(job: JobInfo | undefined): JobWindow | undefined {
  const started = ms(job?.startedAt);
  if (!job || started === null || job.timeLimitSeconds === undefined) return undefined;
  if (job.state !== 'RUNNING') return undefined;
  return { startedMs: started, timeLimitMs: job.timeLimitSeconds * 1000 };
}

function observedWaitMs(jobs: readonly (JobInfo | undefined)[], services: readonly StoredService[]): number {
  const waits = [
    ...jobs.map((job) => (ms(job?.startedAt) ?? 0) - (ms(job?.submittedAt) ?? Number.MAX_SAFE_INTEGER)),
    ...services.map(
      (service) =>
        (ms(service.timeline.started_at) ?? 0) -
        (ms(service.timeline.submitted_at) ?? Number.MAX_SAFE_INTEGER),
    ),
  ];
  return Math.max(0, ...waits);
}

function successorView(next: StoredService): SuccessorView {
  return next.scheduler_state === 'PENDING'
    ? { state: 'pending', estimatedStartMs: ms(next.queue?.estimated_start), startedMs: null }
    : { state: 'starting', estimatedStartMs: null, startedMs: ms(next.timeline.started_at) };
}

/**
 * Decides, after each poll, which services need a successor now, which successors take over, and
 * keeps the records' `rollover` current (rollover.rules.ts has the rules). Submitting and
 * cancelling go through the queue (rollover.handler.ts), never from here.
 */
@Injectable()
export class RolloverPlanner extends PollFollower {
  /** Set by the jobs module once its queue exists. */
  enqueue?: RolloverEnqueue;
  /** The successor start estimate asked during each current job (by its job id): one per generation. */
  private readonly estimates = new Map<string, StartEstimate>();

  constructor(
    private readonly registry: ServiceRegistry,
    @Inject(SCHEDULER) private readonly scheduler: Scheduler,
    @Inject(CONFIG) private readonly config: RolloverConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    super();
  }

  async afterPoll(services: readonly StoredService[], jobs: ReadonlyMap<string, JobInfo>): Promise<void> {
    if (!this.enqueue || this.scheduler.kind === 'local') return;
    const now = Date.now();
    // Bounded by the jobs this poll still tracks: a generation that ended needs its estimate no more.
    for (const jobId of this.estimates.keys()) if (!jobs.has(jobId)) this.estimates.delete(jobId);
    for (const service of services) {
      if (service.rollover_of) await this.dropOrphanSuccessor(service);
      else if (service.group_id === null) await this.planSingle(service.id, jobs, now);
    }
    const groups = new Set(services.map((service) => service.group_id).filter((id) => id !== null));
    for (const groupId of groups) await this.planGroup(groupId, jobs, now);
  }

  /**
   * The scheduler's estimate for a successor of the job `jobId` (`sbatch --test-only` of its script:
   * the successor asks for the same), asked once per generation when it can first matter
   * (estimateDue); `say` puts a sentence into the record's rollover message when the answer is that
   * the successor fits only after this job.
   */
  private async estimate(
    ownerId: string,
    jobId: string,
    jobDir: string,
    window: JobWindow,
    observedLead: number,
    now: number,
    say: (message: string) => Promise<void>,
  ): Promise<EstimatedWait> {
    let asked = this.estimates.get(jobId);
    if (!asked) {
      if (!estimateDue(window, observedLead, now)) return { kind: 'none' };
      asked = { askedMs: now, startMs: null };
      try {
        asked.startMs = ms(await this.scheduler.estimateStart(jobDir));
      } catch (error) {
        // No estimate is no reason to skip the rollover: the observed wait still counts.
        this.logger.warn(
          { service_id: ownerId, job_id: jobId, err: error },
          'no start estimate for a successor',
        );
      }
      this.estimates.set(jobId, asked);
      const fresh = estimatedWait(asked, window);
      this.logger.info(
        {
          service_id: ownerId,
          job_id: jobId,
          estimated_start: asked.startMs === null ? null : new Date(asked.startMs).toISOString(),
          limit_at: new Date(deadlineMs(window)).toISOString(),
          ...fresh,
        },
        'successor start estimate',
      );
      if (fresh.kind === 'after-this-job') await say(afterThisJobMessage(fresh.startMs, deadlineMs(window)));
      return fresh;
    }
    return estimatedWait(asked, window);
  }

  /** The longest start-up of the recipe, or `own` if longer; null before either is known. */
  private async startupMs(recipe: string, own: number | null): Promise<number | null> {
    const observed = await this.registry.longestStartupSeconds(recipe);
    const known = [observed === null ? null : observed * 1000, own].filter((value) => value !== null);
    return known.length === 0 ? null : Math.max(...known);
  }

  /** A successor whose service ended before it took over is cancelled: the service ended at its limit. */
  private async dropOrphanSuccessor(successor: StoredService): Promise<void> {
    // Read again: this pass may have just let it take over (its job id then names the service).
    const current = await this.registry.get(successor.id);
    if (current?.id !== successor.id) return;
    const owner = await this.registry.getOwn(successor.rollover_of ?? '');
    if (owner && !isTerminalJobState(owner.scheduler_state) && owner.successor_id === successor.id) return;
    await this.cancelJob(current, 'its service ended (or moved on) before this successor took over');
  }

  private async cancelJob(job: StoredService, reason: string): Promise<void> {
    if (isTerminalJobState(job.scheduler_state)) return;
    await this.scheduler.cancel(job.job_id);
    await this.registry.applySchedulerState(job.id, { state: 'CANCELLED', reason });
    this.logger.info({ job_id: job.job_id, reason }, 'rollover successor cancelled');
  }

  private async planSingle(id: string, jobs: ReadonlyMap<string, JobInfo>, now: number): Promise<void> {
    const service = await this.registry.getOwn(id);
    if (!service || isTerminalJobState(service.scheduler_state)) return;
    const state = service.rollover_state ?? 'off';
    if (state === 'restarting') {
      if (service.ready && service.stopping_job_id !== service.job_id) {
        // The new job's start was unknown when it took over the record.
        const started = jobs.get(service.job_id)?.startedAt ?? null;
        await this.registry.setGenerations(
          id,
          serviceGenerations(service).map((entry) =>
            entry.job_id === service.job_id && entry.started_at === null
              ? { ...entry, started_at: started }
              : entry,
          ),
        );
        await this.registry.setRollover(id, { state: 'scheduled', message: null, stoppingJobId: null });
      }
      return;
    }
    if (state === 'off' || state === 'draining' || !service.ready) return;
    const job = jobs.get(service.job_id);
    const window = windowOf(job);
    if (!window) return;
    const own = ownStartupMs(service);
    const startup = await this.startupMs(service.recipe_name, own);
    if (startup === null) return;
    const observedWait = observedWaitMs([job], [service]);
    const lead = leadTimeMs({
      queueWaitMs: observedWait,
      startupMs: startup,
      marginMs: this.config.ROLLOVER_MARGIN_MS,
    });
    if (service.successor_id) {
      await this.followSuccessor(service, window, startup, now);
      return;
    }
    if (state !== 'scheduled') return;
    if (!rolloverFits(window, startup, lead, this.config.ROLLOVER_DRAIN_MS)) {
      await this.registry.addWarning(
        id,
        tooShortWarning(window.timeLimitMs, startup, lead, this.config.ROLLOVER_DRAIN_MS),
      );
      await this.registry.setRollover(id, {
        state: 'off',
        message: 'the time limit is too short for a rollover (see warnings)',
      });
      await this.registry.dropSubmissionConfig(service.submission_id);
      return;
    }
    const estimated = await this.estimate(id, service.job_id, service.job_dir, window, lead, now, (message) =>
      this.registry.setRollover(id, { state: 'scheduled', message }),
    );
    await this.dueOnceLeadReached(id, service.generation + 1, observedWait, estimated, startup, window, now);
  }

  /** Enqueues the rollover once the lead (queue wait, observed or estimated, + start-up + margin) is reached. */
  private async dueOnceLeadReached(
    id: string,
    generation: number,
    observedWait: Parameters<typeof queueWaitMs>[0],
    estimated: EstimatedWait,
    startup: number,
    window: JobWindow,
    now: number,
  ): Promise<void> {
    const queued = leadTimeMs({
      queueWaitMs: queueWaitMs(observedWait, estimated),
      startupMs: startup,
      marginMs: this.config.ROLLOVER_MARGIN_MS,
    });
    if (rolloverDue(window, queued, now)) await this.due(id, generation, queued, window);
  }

  private async due(id: string, generation: number, lead: number, window: JobWindow): Promise<void> {
    if (await this.enqueue?.('rollover', { serviceId: id, generation })) {
      this.logger.info(
        { service_id: id, generation, lead_ms: lead, limit_at: new Date(deadlineMs(window)).toISOString() },
        'walltime rollover due: successor enqueued',
      );
    }
  }

  private async followSuccessor(
    service: StoredService,
    window: JobWindow,
    startup: number,
    now: number,
  ): Promise<void> {
    const next = await this.registry.getOwn(service.successor_id ?? '');
    if (!next) return;
    if (isTerminalJobState(next.scheduler_state)) {
      await this.registry.setRollover(service.id, {
        state: 'late',
        message: `the successor job ${next.job_id} ended (${next.scheduler_state}) before it served: the service ends at its time limit`,
        successorId: null,
      });
      return;
    }
    if (next.ready) {
      const generations: GenerationRecord[] = [
        ...serviceGenerations(service),
        { job_id: next.job_id, started_at: next.timeline.started_at, ended_at: null },
      ];
      const outcome = await this.registry.promoteSuccessor(service.id, next.id, {
        generations,
        state: 'draining',
        message: `job ${next.job_id} serves now; job ${service.job_id} finishes its in-flight requests and is cancelled`,
      });
      if (outcome === 'promoted') {
        this.logger.info(
          { service_id: service.id, from_job: service.job_id, to_job: next.job_id },
          'rollover successor took over',
        );
        await this.enqueue?.(
          'retire',
          { serviceId: service.id, generation: service.generation },
          this.config.ROLLOVER_DRAIN_MS,
        );
      }
      return;
    }
    const view = successorView(next);
    const late = successorLate(view, window, startup, this.config.ROLLOVER_DRAIN_MS, now);
    const state = late ? 'late' : view.state === 'pending' ? 'successor_pending' : 'successor_starting';
    const message = late
      ? lateMessage(
          next.job_id,
          expectedReadyMs(view, startup, now),
          deadlineMs(window),
          next.queue?.reason ?? null,
        )
      : view.state === 'pending'
        ? `successor job ${next.job_id} is queued`
        : `successor job ${next.job_id} is starting`;
    if (state !== service.rollover_state || message !== service.rollover_message)
      await this.registry.setRollover(service.id, { state, message });
  }

  private async planGroup(groupId: string, jobs: ReadonlyMap<string, JobInfo>, now: number): Promise<void> {
    const view = await this.registry.getGroupView(groupId);
    if (!view) return;
    const { group } = view;
    const record = toGroupRecord(view);
    const next = await this.registry.getMany(group.next_job_ids ?? []);
    if (isTerminalGroupStatus(record.status)) {
      for (const job of next) await this.cancelJob(job, 'its group ended before this successor took over');
      if (next.length > 0)
        await this.registry.updateGroup(groupId, ({ next_job_ids: _next, ...rest }) => rest);
      return;
    }
    const state = group.rollover?.state ?? 'off';
    if (state === 'off' || state === 'draining') return;
    if (!view.jobs.some((job) => job.replicas.some((replica) => replica.ready))) return;
    const windows = view.jobs.map((job) => windowOf(jobs.get(job.job_id)));
    if (windows.length === 0 || windows.some((window) => window === undefined)) return;
    const window = windows
      .filter((candidate) => candidate !== undefined)
      .sort((a, b) => deadlineMs(a) - deadlineMs(b))[0];
    if (!window) return;
    const timeline = groupTimeline(view);
    const own = ownStartupMs({ timeline });
    const startup = await this.startupMs(group.recipe_name, own);
    if (startup === null) return;
    const observedWait = observedWaitMs(
      view.jobs.map((job) => jobs.get(job.job_id)),
      view.jobs,
    );
    const lead = leadTimeMs({
      queueWaitMs: observedWait,
      startupMs: startup,
      marginMs: this.config.ROLLOVER_MARGIN_MS,
    });
    if (next.length > 0) {
      await this.followGroupSuccessor(view, next, window, startup, now);
      return;
    }
    if (state !== 'scheduled') return;
    if (!rolloverFits(window, startup, lead, this.config.ROLLOVER_DRAIN_MS)) {
      const warning = tooShortWarning(window.timeLimitMs, startup, lead, this.config.ROLLOVER_DRAIN_MS);
      await this.registry.updateGroup(groupId, (current) => ({
        ...current,
        warnings: [...(current.warnings ?? []).filter((known) => known !== warning), warning],
        rollover: { state: 'off', message: 'the time limit is too short for a rollover (see warnings)' },
      }));
      await this.registry.dropSubmissionConfig(group.submission_id);
      return;
    }
    // Each node job of a generation asks for the same, so the first one's script stands for all.
    const first = view.jobs[0];
    const estimated = first
      ? await this.estimate(groupId, first.job_id, first.job_dir, window, lead, now, async (message) => {
          await this.registry.updateGroup(groupId, (current) =>
            current.rollover?.state === 'scheduled'
              ? { ...current, rollover: { state: 'scheduled', message } }
              : undefined,
          );
        })
      : ({ kind: 'none' } as const);
    await this.dueOnceLeadReached(
      groupId,
      (group.generation ?? 1) + 1,
      observedWait,
      estimated,
      startup,
      window,
      now,
    );
  }

  private async followGroupSuccessor(
    view: GroupView,
    next: readonly StoredService[],
    window: JobWindow,
    startup: number,
    now: number,
  ): Promise<void> {
    const { group } = view;
    const ended = next.find((job) => isTerminalJobState(job.scheduler_state));
    if (ended) {
      for (const job of next) await this.cancelJob(job, 'another node job of its generation ended');
      await this.registry.updateGroup(group.id, ({ next_job_ids: _next, ...rest }) => ({
        ...rest,
        rollover: {
          state: 'late',
          message: `the successor node job ${ended.job_id} ended (${ended.scheduler_state}) before it served: the group ends at its time limit`,
        },
      }));
      return;
    }
    const allReady = next.every(
      (job) => job.replicas.length > 0 && job.replicas.every((replica) => replica.ready),
    );
    if (allReady) {
      const nextIds = next.map((job) => job.id);
      const first = next[0];
      const promoted = await this.registry.updateGroup(group.id, (current) => {
        if (current.next_job_ids?.join(',') !== nextIds.join(',')) return undefined;
        const generations = current.generations ?? [
          { job_id: current.job_ids[0] ?? '', started_at: groupTimeline(view).started_at, ended_at: null },
        ];
        const { next_job_ids: _next, ...rest } = current;
        return {
          ...rest,
          first_timeline: current.first_timeline ?? groupTimeline(view),
          job_ids: nextIds,
          retiring_job_ids: current.job_ids,
          generation: (current.generation ?? 1) + 1,
          generations: [
            ...generations,
            { job_id: first?.job_id ?? '', started_at: first?.timeline.started_at ?? null, ended_at: null },
          ],
          rollover: {
            state: 'draining',
            message: `node jobs ${nextIds.join(', ')} serve now; ${current.job_ids.join(', ')} finish their in-flight requests and are cancelled`,
          },
        } satisfies StoredGroup;
      });
      if (promoted) {
        this.logger.info(
          { group_id: group.id, from_jobs: group.job_ids, to_jobs: nextIds },
          'rollover successors took over',
        );
        await this.enqueue?.(
          'retire',
          { serviceId: group.id, generation: group.generation ?? 1 },
          this.config.ROLLOVER_DRAIN_MS,
        );
      }
      return;
    }
    const lead = next[0];
    if (!lead) return;
    const successor = successorView(lead);
    const late = successorLate(successor, window, startup, this.config.ROLLOVER_DRAIN_MS, now);
    const state = late ? 'late' : successor.state === 'pending' ? 'successor_pending' : 'successor_starting';
    const message = late
      ? lateMessage(
          lead.job_id,
          expectedReadyMs(successor, startup, now),
          deadlineMs(window),
          lead.queue?.reason ?? null,
        )
      : successor.state === 'pending'
        ? `successor node jobs ${next.map((job) => job.job_id).join(', ')} are queued`
        : `successor node jobs ${next.map((job) => job.job_id).join(', ')} are starting`;
    if (state !== group.rollover?.state || message !== group.rollover.message)
      await this.registry.updateGroup(group.id, (current) => ({ ...current, rollover: { state, message } }));
  }
}

/** How long the service's first job took from start to serving, once known. */
function ownStartupMs(service: Pick<StoredService, 'timeline'>): number | null {
  const started = ms(service.timeline.started_at);
  const ready = ms(service.timeline.ready_at);
  return started === null || ready === null ? null : Math.max(0, ready - started);
}
