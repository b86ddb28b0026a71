import { gaps, markdownTable, median, percentOf, percentile, summarise } from './latency.stats';

describe('latency stats', () => {
  it('takes nearest-rank percentiles, so every figure is a measured sample', () => {
    const sorted = Array.from({ length: 100 }, (_, index) => index + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 95)).toBe(95);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it('summarises unsorted samples, requests/s being one sequential client over the time spent', () => {
    const summary = summarise([4, 1, 3, 2]);
    expect(summary).toMatchObject({ n: 4, p50: 2, p95: 4, p99: 4, max: 4, min: 1, mean: 2.5 });
    expect(summary.rps).toBeCloseTo(400);
  });

  it('takes the median of the rounds, skipping a round that measured nothing', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([5, Number.NaN, 1])).toBe(3);
    expect(median([])).toBeNaN();
  });

  it('turns arrival times into the gaps between them', () => {
    expect(gaps([10, 20, 35, 35])).toEqual([10, 15, 0]);
    expect(gaps([5])).toEqual([]);
    expect(gaps([])).toEqual([]);
  });

  it('gives a percentage with one decimal, NaN without a whole', () => {
    expect(percentOf(1, 3)).toBe(33.3);
    expect(percentOf(5, 0)).toBeNaN();
  });

  it('pads a markdown table to its widest cell', () => {
    expect(markdownTable(['a', 'bb'], [['ccc', 'd']])).toBe('| a   | bb |\n| --- | -- |\n| ccc | d  |');
  });
});
