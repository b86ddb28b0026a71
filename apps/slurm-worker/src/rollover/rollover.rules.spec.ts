import {
  afterThisJobMessage,
  deadlineMs,
  estimateDue,
  estimatedWait,
  expectedReadyMs,
  leadTimeMs,
  queueWaitMs,
  rolloverDue,
  rolloverFits,
  successorLate,
  tooShortWarning,
} from './rollover.rules';

const MIN = 60_000;

describe('rollover lead time', () => {
  it('is queue wait + start-up + margin, negatives counting as none', () => {
    expect(leadTimeMs({ queueWaitMs: 30_000, startupMs: 90_000, marginMs: 120_000 })).toBe(240_000);
    expect(leadTimeMs({ queueWaitMs: -5, startupMs: 1_000, marginMs: 0 })).toBe(1_000);
  });

  it('makes the successor due exactly lead before the limit', () => {
    const window = { startedMs: 0, timeLimitMs: 60 * MIN };
    expect(deadlineMs(window)).toBe(60 * MIN);
    expect(rolloverDue(window, 4 * MIN, 56 * MIN - 1)).toBe(false);
    expect(rolloverDue(window, 4 * MIN, 56 * MIN)).toBe(true);
  });

  it('finds a limit too short when the successor would be due before this job served, or leave no drain', () => {
    const window = { startedMs: 0, timeLimitMs: MIN };
    // 10 s start-up, 20 s lead, 2 s drain: fits in a minute.
    expect(rolloverFits(window, 10_000, 20_000, 2_000)).toBe(true);
    // The default margin alone (120 s) exceeds a one-minute limit.
    expect(rolloverFits(window, 10_000, 130_000, 15_000)).toBe(false);
    expect(rolloverFits(window, 30_000, 28_000, 2_000)).toBe(false);
    expect(tooShortWarning(MIN, 10_000, 130_000, 15_000)).toMatch(
      /time limit 60 s is too short.*130 s ahead.*rollover is off/,
    );
  });
});

describe('a queued or starting successor', () => {
  const window = { startedMs: 0, timeLimitMs: 10 * MIN };

  it('is expected to serve at its start estimate (or now) plus the start-up', () => {
    const now = 8 * MIN;
    expect(expectedReadyMs({ state: 'pending', estimatedStartMs: null, startedMs: null }, 30_000, now)).toBe(
      now + 30_000,
    );
    expect(
      expectedReadyMs({ state: 'pending', estimatedStartMs: 9 * MIN, startedMs: null }, 30_000, now),
    ).toBe(9 * MIN + 30_000);
    // An estimate in the past means "any moment".
    expect(expectedReadyMs({ state: 'pending', estimatedStartMs: MIN, startedMs: null }, 30_000, now)).toBe(
      now + 30_000,
    );
    expect(
      expectedReadyMs({ state: 'starting', estimatedStartMs: null, startedMs: now - 10_000 }, 30_000, now),
    ).toBe(now + 20_000);
    // Slower than the longest start-up seen: expected now, not in the past.
    expect(
      expectedReadyMs({ state: 'starting', estimatedStartMs: null, startedMs: now - MIN }, 30_000, now),
    ).toBe(now);
  });

  it('is late when it cannot serve and leave the drain before the limit', () => {
    const pending = { state: 'pending' as const, estimatedStartMs: 9 * MIN, startedMs: null };
    expect(successorLate(pending, window, 30_000, 15_000, 8 * MIN)).toBe(false);
    expect(successorLate(pending, window, 50_000, 15_000, 8 * MIN)).toBe(true);
    const starting = { state: 'starting' as const, estimatedStartMs: null, startedMs: 9 * MIN };
    expect(successorLate(starting, window, 40_000, 15_000, 9 * MIN)).toBe(false);
    expect(successorLate(starting, window, 50_000, 15_000, 9 * MIN)).toBe(true);
  });
});

describe("the scheduler's start estimate in the lead time", () => {
  // A job that started at 0 with a 60 min limit; SLURM was asked at 40 min.
  const window = { startedMs: 0, timeLimitMs: 60 * MIN };
  const asked = (startMs: number | null) => ({ askedMs: 40 * MIN, startMs });
  const lead = (observedMs: number, startMs: number | null) =>
    leadTimeMs({
      queueWaitMs: queueWaitMs(observedMs, estimatedWait(asked(startMs), window)),
      startupMs: 2 * MIN,
      marginMs: 2 * MIN,
    });

  it('adds a wait that ends before this job does, where it is longer than the observed one', () => {
    expect(estimatedWait(asked(47 * MIN), window)).toEqual({ kind: 'wait', waitMs: 7 * MIN, capped: false });
    expect(lead(MIN, 47 * MIN)).toBe(11 * MIN);
    // A shorter estimate leaves the longer observed wait.
    expect(lead(3 * MIN, 41 * MIN)).toBe(7 * MIN);
    // An estimate of "now" (or a moment ago) adds nothing.
    expect(estimatedWait(asked(39 * MIN), window)).toEqual({ kind: 'wait', waitMs: 0, capped: false });
    expect(lead(MIN, 39 * MIN)).toBe(5 * MIN);
  });

  it('keeps the normal lead when the successor would start only once this job ends, and says so', () => {
    for (const start of [60 * MIN, 60 * MIN - 500, 95 * MIN]) {
      expect(estimatedWait(asked(start), window)).toEqual({ kind: 'after-this-job', startMs: start });
      expect(lead(MIN, start)).toBe(5 * MIN);
    }
    // One second before the end is SLURM's rounding no more: another job frees what it needs.
    expect(estimatedWait(asked(60 * MIN - 1_000), window).kind).toBe('wait');
    expect(afterThisJobMessage(60 * MIN, deadlineMs(window))).toBe(
      'the successor may not start in time: SLURM estimates that a job like this one, submitted now, would ' +
        "start at 1970-01-01T01:00:00.000Z, not before this job's time limit at 1970-01-01T01:00:00.000Z " +
        '(what it needs is taken until then); it is still submitted ahead of the limit, and unless it is ' +
        'ready by then the service ends at its time limit',
    );
  });

  it('adds at most half the time limit, however long the estimated wait', () => {
    const short = { startedMs: 0, timeLimitMs: 10 * MIN };
    expect(estimatedWait({ askedMs: MIN, startMs: 9 * MIN }, short)).toEqual({
      kind: 'wait',
      waitMs: 5 * MIN,
      capped: true,
    });
    expect(estimatedWait({ askedMs: MIN, startMs: 6 * MIN }, short)).toEqual({
      kind: 'wait',
      waitMs: 5 * MIN,
      capped: false,
    });
  });

  it('counts the observed wait alone without an estimate', () => {
    expect(estimatedWait(asked(null), window)).toEqual({ kind: 'none' });
    expect(lead(3 * MIN, null)).toBe(7 * MIN);
    expect(queueWaitMs(-1, { kind: 'none' })).toBe(0);
  });

  it('is asked once the longest lead it can make is due: observed lead + half the limit', () => {
    // 5 min observed lead + 30 min: from 25 min into the hour.
    expect(estimateDue(window, 5 * MIN, 25 * MIN - 1)).toBe(false);
    expect(estimateDue(window, 5 * MIN, 25 * MIN)).toBe(true);
  });
});
