import { poissonArrivals, seededUniform } from './arrival.schedule';
import { syntheticPrompt } from './prompt.factory';

function take(n: number, rate: number, seed: number): number[] {
  const arrivals = poissonArrivals(rate, seed);
  return Array.from({ length: n }, () => arrivals.next().value);
}

describe('poissonArrivals', () => {
  it('is the same schedule for the same seed and another for another seed', () => {
    expect(take(50, 5, 7)).toEqual(take(50, 5, 7));
    expect(take(50, 5, 7)).not.toEqual(take(50, 5, 8));
  });

  it('has exponential gaps of mean 1000/rate ms: mean within 3 % and 37 % of gaps above the mean', () => {
    const rate = 4;
    const times = take(20_000, rate, 1);
    const gaps = times.map((at, i) => at - (times[i - 1] ?? 0));
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    expect(Math.abs(mean - 250) / 250).toBeLessThan(0.03);
    // P(gap > mean) = e^-1 ≈ 0.368 for an exponential distribution.
    expect(gaps.filter((gap) => gap > 250).length / gaps.length).toBeCloseTo(Math.exp(-1), 1);
    expect(gaps.every((gap) => gap >= 0)).toBe(true);
  });

  it('draws uniforms in [0, 1)', () => {
    const draws = Array.from({ length: 1_000 }, (_, i) => seededUniform(3, 'x', i));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
  });
});

describe('syntheticPrompt', () => {
  it('is that many words, the same for the same seed and index, another for another index', () => {
    expect(syntheticPrompt(64, 0, 0).split(' ')).toHaveLength(64);
    expect(syntheticPrompt(64, 0, 0)).toBe(syntheticPrompt(64, 0, 0));
    expect(syntheticPrompt(64, 0, 1)).not.toBe(syntheticPrompt(64, 0, 0));
    expect(syntheticPrompt(1, 5, 2)).toMatch(/^[a-z]+$/);
  });
});
