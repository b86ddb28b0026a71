import fc from 'fast-check';
import { groupIdOf } from './groups';
import { isServiceId } from './service-id';

describe('isServiceId', () => {
  it.each(['1', '3652098', 'sg-3652098', '123456789012'])('accepts %s', (id) => {
    expect(isServiceId(id)).toBe(true);
  });

  it.each(['', 'abc', 'sg-', 'SG-1', '1234567890123', '1/2', '3652098:8001', ' 1', undefined, 12])(
    'rejects %p',
    (id) => {
      expect(isServiceId(id)).toBe(false);
    },
  );

  it('accepts every job id and the group id made from it', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 999_999_999_999n }), (job) => {
        const jobId = String(job);
        return isServiceId(jobId) && isServiceId(groupIdOf(jobId));
      }),
    );
  });
});
