import type { Summary } from './bench.types';

/**
 * The nearest-rank percentile of ascending `sorted`: the smallest value with at least p % of the
 * values at or below it. No interpolation, so every figure is a latency that was measured.
 */
export function nearestRank(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) throw new RangeError('nearestRank: no values');
  if (!(p > 0 && p <= 100)) throw new RangeError(`nearestRank: p must be in (0, 100], got ${String(p)}`);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(rank, sorted.length) - 1] as number;
}

/** Count, mean, min, p50, p90, p99 and max; undefined for no values. */
export function summarize(values: readonly number[]): Summary | undefined {
  if (values.length === 0) return undefined;
  // A typed array sorts numerically and ten times faster than a comparator: 10^6 ITL samples in ~0.2 s.
  const sorted = Float64Array.from(values).sort();
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    count: sorted.length,
    mean: sum / sorted.length,
    min: sorted[0] as number,
    p50: nearestRank(sorted, 50),
    p90: nearestRank(sorted, 90),
    p99: nearestRank(sorted, 99),
    max: sorted[sorted.length - 1] as number,
  };
}
