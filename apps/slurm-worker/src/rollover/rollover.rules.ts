/*
 * When a service's successor job is submitted, and what its record says meanwhile. Pure: the
 * planner (rollover.planner.ts) feeds it what the poll and the registry know.
 *
 * Lead time = queue wait + start-up + margin, where
 * - queue wait is what the service's own jobs waited so far (submitted → started, the longest of
 *   its generations): the successor does not exist yet, so the scheduler has no estimate for it;
 *   once it is queued, squeue's estimate for it says whether it can still be ready in time;
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
