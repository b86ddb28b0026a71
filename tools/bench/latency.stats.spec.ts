import { markdownTable, percentile, summarise } from './latency.stats';

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

  it('pads a markdown table to its widest cell', () => {
    expect(markdownTable(['a', 'bb'], [['ccc', 'd']])).toBe('| a   | bb |\n| --- | -- |\n| ccc | d  |');
  });
});
