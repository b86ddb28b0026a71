import {
  deadlineMs,
  expectedReadyMs,
  leadTimeMs,
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
