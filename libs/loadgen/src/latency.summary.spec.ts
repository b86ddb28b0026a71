import fc from 'fast-check';
import { nearestRank, summarize } from './latency.summary';

describe('nearestRank', () => {
  const oneToHundred = Array.from({ length: 100 }, (_, i) => i + 1);

  it.each([
    [50, 50],
    [90, 90],
    [99, 99],
    [100, 100],
    [0.5, 1],
  ])('p%d of 1..100 is %d', (p, expected) => {
    expect(nearestRank(oneToHundred, p)).toBe(expected);
  });

  it('takes the smallest value with at least p % at or below it (10 values: p99 is the largest)', () => {
    const ten = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
    expect([nearestRank(ten, 50), nearestRank(ten, 90), nearestRank(ten, 99)]).toEqual([50, 90, 100]);
    expect(nearestRank([7], 99)).toBe(7);
  });

  it('refuses no values and a p outside (0, 100]', () => {
    expect(() => nearestRank([], 50)).toThrow(/no values/);
    expect(() => nearestRank([1], 0)).toThrow(/p must be in/);
    expect(() => nearestRank([1], 101)).toThrow(/p must be in/);
  });

  it('is a measured value, with at least p % of the values at or below it and fewer than p % below', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 200 }),
        fc.double({ min: 0.01, max: 100, noNaN: true }),
        (values, p) => {
          const sorted = [...values].sort((a, b) => a - b);
          const rank = nearestRank(sorted, p);
          expect(sorted).toContain(rank);
          expect(sorted.filter((v) => v <= rank).length / sorted.length).toBeGreaterThanOrEqual(p / 100);
          expect(sorted.filter((v) => v < rank).length / sorted.length).toBeLessThan(p / 100);
        },
      ),
    );
  });
});

describe('summarize', () => {
  it('gives count, mean, min, percentiles and max of unsorted values; nothing for none', () => {
    expect(summarize([30, 10, 20, 40])).toEqual({
      count: 4,
      mean: 25,
      min: 10,
      p50: 20,
      p90: 40,
      p99: 40,
      max: 40,
    });
    expect(summarize([])).toBeUndefined();
  });
});
