import { queuePositions, type PendingJob } from './queue-position.rules';

const job = (jobId: string, priority: number, partitions = ['gpu']): PendingJob => ({
  jobId,
  priority,
  partitions,
});

describe('queuePositions', () => {
  it('counts the pending jobs of the same partition with a higher priority, whoever owns them', () => {
    const pending = [job('10', 50), job('11', 80), job('12', 90), job('13', 10)];
    expect(queuePositions(pending, ['10'])).toEqual(new Map([['10', 3]]));
    expect(queuePositions(pending, ['12', '13'])).toEqual(
      new Map([
        ['12', 1],
        ['13', 4],
      ]),
    );
  });

  it('breaks ties by submission: the lower job id first, numerically', () => {
    const pending = [job('100', 5), job('99', 5), job('1000', 5)];
    expect(queuePositions(pending, ['99', '100', '1000'])).toEqual(
      new Map([
        ['99', 1],
        ['100', 2],
        ['1000', 3],
      ]),
    );
  });

  it('ignores other partitions, and counts a job pending in several in each of them', () => {
    const pending = [job('1', 10, ['gpu']), job('2', 99, ['cpu']), job('3', 99, ['cpu', 'gpu'])];
    expect(queuePositions(pending, ['1'])).toEqual(new Map([['1', 2]]));
    // 3 is behind 2 in cpu (same priority, submitted earlier), though first in gpu.
    expect(queuePositions(pending, ['3'])).toEqual(new Map([['3', 2]]));
  });

  it('reads array and heterogeneous job ids by their leading number', () => {
    const pending = [job('7_[1-9]', 5), job('8+0', 5), job('9', 5), job('7_3', 5)];
    expect(queuePositions(pending, ['9']).get('9')).toBe(4);
  });

  it('leaves out ids that are not pending', () => {
    expect(queuePositions([job('1', 1)], ['2']).size).toBe(0);
  });
});
