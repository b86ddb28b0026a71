import {
  idleDecision,
  idleTimeoutMs,
  idleTimeoutProblem,
  USE_RECORD_INTERVAL_MS,
  useNeedsRecording,
} from './idle.rules';

describe('idle_timeout validation', () => {
  it.each([30, 0.2, '0.2', '15', 1e-3, 525_600])('accepts %p minutes', (value) => {
    expect(idleTimeoutProblem(value)).toBeUndefined();
  });

  it('accepts its absence (idle stop off)', () => {
    expect(idleTimeoutProblem(undefined)).toBeUndefined();
    expect(idleTimeoutMs({})).toBeUndefined();
  });

  it.each([
    [0, /more than 0 minutes, got 0/],
    [-5, /more than 0 minutes, got -5/],
    ['0', /more than 0 minutes/],
    ['ten', /must be a number of minutes.*"ten"/],
    ['1e3', /must be a number of minutes/],
    ['', /must be a number of minutes/],
    [null, /must be a number of minutes.*null/],
    [true, /must be a number of minutes.*true/],
    [{ minutes: 5 }, /must be a number of minutes.*object/],
    [Number.NaN, /must be a number of minutes/],
    [Number.POSITIVE_INFINITY, /must be a number of minutes/],
    [525_601, /at most 525600 minutes/],
  ])('refuses %p with a message that says what is wrong', (value, message) => {
    expect(idleTimeoutProblem(value)).toMatch(message);
  });

  it('turns minutes into milliseconds, decimals included', () => {
    expect(idleTimeoutMs({ idle_timeout: 0.2 })).toBe(12_000);
    expect(idleTimeoutMs({ idle_timeout: '1.5' })).toBe(90_000);
    expect(idleTimeoutMs({ idle_timeout: 30 })).toBe(1_800_000);
  });

  it('reads a stored value it cannot use as off, never as zero', () => {
    expect(idleTimeoutMs({ idle_timeout: 0 })).toBeUndefined();
    expect(idleTimeoutMs({ idle_timeout: 'soon' })).toBeUndefined();
  });
});

describe('idleDecision', () => {
  const base = { running: true, timeoutMs: 12_000, nowMs: 100_000 };

  it('stops a running service unused for the whole timeout', () => {
    expect(idleDecision({ ...base, lastUseMs: 88_000 })).toBe('stop');
    expect(idleDecision({ ...base, lastUseMs: 10_000 })).toBe('stop');
  });

  it('keeps one used within the timeout', () => {
    expect(idleDecision({ ...base, lastUseMs: 88_001 })).toBe('keep');
    expect(idleDecision({ ...base, lastUseMs: 100_000 })).toBe('keep');
  });

  it('does not count time spent queued or starting: the clock restarts until it serves', () => {
    expect(idleDecision({ ...base, running: false, lastUseMs: 0 })).toBe('restart-clock');
    expect(idleDecision({ ...base, running: false, lastUseMs: undefined })).toBe('restart-clock');
  });

  it('starts the clock for a running service nobody has used yet, rather than stopping it at once', () => {
    expect(idleDecision({ ...base, lastUseMs: undefined })).toBe('restart-clock');
  });
});

describe('useNeedsRecording', () => {
  it('writes the first use, then at most once per interval', () => {
    expect(useNeedsRecording(undefined, 5)).toBe(true);
    expect(useNeedsRecording(1_000, 1_000 + USE_RECORD_INTERVAL_MS - 1)).toBe(false);
    expect(useNeedsRecording(1_000, 1_000 + USE_RECORD_INTERVAL_MS)).toBe(true);
  });
});
