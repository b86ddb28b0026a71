/*
 * When a service's successor job is submitted, and what its record says meanwhile. Pure: the
 * planner (rollover.planner.ts) feeds it what the poll, the registry and the scheduler know.
 *
 * Lead time = queue wait + start-up + margin, where
 * - queue wait is the longer of what the service's own jobs waited so far (submitted → started,
 *   the longest of its generations) and the scheduler's estimate for a job like the current one
 *   submitted now (asked once per generation, see estimatedWait); once the successor is queued,
 *   squeue's estimate for it says whether it can still be ready in time;
 * - start-up is the longest started → ready the prober observed for the recipe (every service's
 *   jobs), or this service's own if longer;
 * - margin is ROLLOVER_MARGIN_MS.
 */

export interface LeadInputs {
  queueWaitMs: number;
  startupMs: number;
  marginMs: number;
}

export function leadTimeMs({ queueWaitMs, startupMs, marginMs }: LeadInputs): number {
  return Math.max(0, queueWaitMs) + Math.max(0, startupMs) + Math.max(0, marginMs);
}

export interface JobWindow {
  /** When the current job started (ms). */
  startedMs: number;
  timeLimitMs: number;
}

export function deadlineMs({ startedMs, timeLimitMs }: JobWindow): number {
  return startedMs + timeLimitMs;
}

/**
 * Whether a time limit leaves room for any rollover: the successor is due `lead` before the limit,
 * and must not be due before the current job even served (its own start-up), with the drain's
 * time left between the successor serving and the limit.
 */
export function rolloverFits(
  window: JobWindow,
  ownStartupMs: number,
  leadMs: number,
  drainMs: number,
): boolean {
  return window.timeLimitMs > ownStartupMs + leadMs + drainMs;
}

/** Whether the successor is due now. */
export function rolloverDue(window: JobWindow, leadMs: number, nowMs: number): boolean {
  return nowMs >= deadlineMs(window) - leadMs;
}

export interface SuccessorView {
  state: 'pending' | 'starting';
  /** The scheduler's start estimate for a pending successor (ms), when it has one. */
  estimatedStartMs: number | null;
  /** When a starting successor started (ms). */
  startedMs: number | null;
}

/**
 * When the successor is expected to serve: a pending one at its estimate (or now, without one)
 * plus the recipe's start-up; a starting one at its start plus the start-up (not before now).
 */
export function expectedReadyMs(successor: SuccessorView, startupMs: number, nowMs: number): number {
  const start =
    successor.state === 'pending'
      ? Math.max(nowMs, successor.estimatedStartMs ?? nowMs)
      : (successor.startedMs ?? nowMs);
  return Math.max(nowMs, start + startupMs);
}

/** Late: the successor cannot serve before the current job's limit leaves it time to drain. */
export function successorLate(
  successor: SuccessorView,
  window: JobWindow,
  startupMs: number,
  drainMs: number,
  nowMs: number,
): boolean {
  return expectedReadyMs(successor, startupMs, nowMs) + drainMs > deadlineMs(window);
}

/**
 * The scheduler's answer, once per generation, to "when would a job asking what the current one
 * asks start if submitted now".
 */
export interface StartEstimate {
  askedMs: number;
  /** null: the scheduler gave no estimate. */
  startMs: number | null;
}

export type EstimatedWait =
  | { kind: 'none' }
  /** The wait the estimate adds to the queue wait, at most ESTIMATE_SHARE of the limit. */
  | { kind: 'wait'; waitMs: number; capped: boolean }
  /** It would start only once this job ends: rolling over earlier cannot help. */
  | { kind: 'after-this-job'; startMs: number };

/**
 * The largest share of a time limit the estimate may add to the lead, so that a generation always
 * serves for a fair part of its limit however full the queue looks.
 */
export const ESTIMATE_SHARE = 0.5;

export function estimateCapMs(window: JobWindow): number {
  return window.timeLimitMs * ESTIMATE_SHARE;
}

/**
 * What a start estimate means for the lead. SLURM plans a job that does not fit now by letting the
 * running jobs end, soonest first and several at once when they end within 30 s or more of each
 * other (docs/reliability.md): while this job holds what its successor needs, the estimate is this
 * job's own end or later. That says the queue is full, not that the successor should be submitted
 * earlier: an earlier submission would wait for the same end, and a lead made of it would roll
 * every generation over as soon as it serves. SLURM prints whole seconds.
 */
export function estimatedWait(estimate: StartEstimate, window: JobWindow): EstimatedWait {
  if (estimate.startMs === null) return { kind: 'none' };
  if (estimate.startMs > deadlineMs(window) - 1_000)
    return { kind: 'after-this-job', startMs: estimate.startMs };
  const wait = Math.max(0, estimate.startMs - estimate.askedMs);
  const cap = estimateCapMs(window);
  return { kind: 'wait', waitMs: Math.min(wait, cap), capped: wait > cap };
}

/** The queue wait a lead counts: the observed one, or the estimated one where that is longer. */
export function queueWaitMs(observedMs: number, estimated: EstimatedWait): number {
  return estimated.kind === 'wait' ? Math.max(observedMs, estimated.waitMs) : Math.max(0, observedMs);
}

/**
 * Whether to ask for the estimate now: once the largest lead it can make (observed lead + the cap)
 * is due, so the answer is as fresh as one question per generation allows.
 */
export function estimateDue(window: JobWindow, observedLeadMs: number, nowMs: number): boolean {
  return rolloverDue(window, observedLeadMs + estimateCapMs(window), nowMs);
}

export function afterThisJobMessage(startMs: number, deadline: number): string {
  return (
    `the successor may not start in time: SLURM estimates that a job like this one, submitted now, ` +
    `would start at ${new Date(startMs).toISOString()}, not before this job's time limit at ` +
    `${new Date(deadline).toISOString()} (what it needs is taken until then); it is still submitted ` +
    'ahead of the limit, and unless it is ready by then the service ends at its time limit'
  );
}

export function tooShortWarning(
  timeLimitMs: number,
  ownStartupMs: number,
  leadMs: number,
  drainMs: number,
): string {
  const seconds = (ms: number): string => `${Math.ceil(ms / 1000)} s`;
  return (
    `time limit ${seconds(timeLimitMs)} is too short for a walltime rollover: a successor must be ` +
    `submitted ${seconds(leadMs)} ahead (queue wait + start-up + margin) and this job took ` +
    `${seconds(ownStartupMs)} to start serving, with ${seconds(drainMs)} to drain; rollover is off and ` +
    'the service ends at its time limit'
  );
}

export function lateMessage(
  successorJobId: string,
  expectedMs: number,
  deadline: number,
  reason: string | null,
): string {
  const queued = reason === null ? '' : ` (queued: ${reason})`;
  return (
    `the successor job ${successorJobId}${queued} is not expected to serve before ` +
    `${new Date(expectedMs).toISOString()}, after this job's time limit at ${new Date(deadline).toISOString()}: ` +
    'the service ends at its limit unless the successor is ready sooner'
  );
}
