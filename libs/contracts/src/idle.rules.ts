/**
 * Idle stop (CONTRACT "Queue, timeline, rollover, idle"): a service whose config sets
 * `idle_timeout` (minutes, decimals allowed) is cancelled once nobody used it for that long, and
 * started again by the next data-plane request. Pure rules shared by the edge (validation), the
 * proxy (what counts as use) and the slurm-worker (when to stop).
 */

/** Above a year, a timeout is a typo rather than a wish; the bound also keeps the ms value exact. */
export const IDLE_TIMEOUT_MAX_MINUTES = 525_600;

const DECIMAL = /^[0-9]{1,7}(\.[0-9]{1,6})?$/;

/**
 * Why `value` is not a valid `idle_timeout`, or undefined when it is one (or absent). Numbers may
 * arrive as strings, as the contract allows for every numeric config field.
 */
export function idleTimeoutProblem(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const minutes = typeof value === 'string' && DECIMAL.test(value.trim()) ? Number(value) : value;
  if (typeof minutes !== 'number' || !Number.isFinite(minutes))
    return `idle_timeout must be a number of minutes (decimals allowed, e.g. 30 or 0.5), got ${describe(value)}`;
  if (minutes <= 0)
    return `idle_timeout must be more than 0 minutes, got ${minutes}; leave it out to never stop for idleness`;
  if (minutes > IDLE_TIMEOUT_MAX_MINUTES)
    return `idle_timeout must be at most ${IDLE_TIMEOUT_MAX_MINUTES} minutes (a year), got ${minutes}`;
  return undefined;
}

/** The idle timeout of a stored config in milliseconds; undefined when idle stop is off (or the value is unusable). */
export function idleTimeoutMs(config: { idle_timeout?: unknown }): number | undefined {
  const value = config.idle_timeout;
  if (value === undefined || idleTimeoutProblem(value) !== undefined) return undefined;
  return Math.round(Number(value) * 60_000);
}

export interface IdleCheck {
  /** The service's status now; the idle clock runs only while it is `running`. */
  running: boolean;
  /** Last data-plane use (epoch ms), or the moment the idle clock last restarted; undefined if never. */
  lastUseMs: number | undefined;
  timeoutMs: number;
  nowMs: number;
}

/**
 * What the worker does about one service with an idle timeout. `restart-clock`: the service is not
 * serving (queued or starting), so time spent there is not idleness and the clock starts when it
 * serves; `stop`: unused for the whole timeout; `keep`: used recently enough.
 */
export function idleDecision(check: IdleCheck): 'restart-clock' | 'stop' | 'keep' {
  if (!check.running || check.lastUseMs === undefined) return 'restart-clock';
  return check.nowMs - check.lastUseMs >= check.timeoutMs ? 'stop' : 'keep';
}

/**
 * The proxy records use at most once per this interval per service: a Redis write per request
 * would cost the hot path, and an idle timeout is minutes, so seconds of slack are invisible.
 */
export const USE_RECORD_INTERVAL_MS = 1_000;

/** Whether a use at `nowMs` needs writing, given the last one this process wrote. */
export function useNeedsRecording(lastWrittenMs: number | undefined, nowMs: number): boolean {
  return lastWrittenMs === undefined || nowMs - lastWrittenMs >= USE_RECORD_INTERVAL_MS;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 32));
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value;
}
