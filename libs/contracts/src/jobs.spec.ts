import fc from 'fast-check';
import { decodeJobFailure, encodeJobFailure, type JobFailureKind } from './jobs';

describe('job failures carried as data', () => {
  it('decodes the kind and the message it encoded, whatever the message', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<JobFailureKind>('unavailable', 'rejected'),
        fc.string(),
        (kind, message) => {
          expect(decodeJobFailure(encodeJobFailure({ kind, message }))).toEqual({ kind, message });
        },
      ),
    );
  });

  it('counts plain text as rejected and keeps it whole', () => {
    expect(decodeJobFailure('submission abc does not exist (expired?)')).toEqual({
      kind: 'rejected',
      message: 'submission abc does not exist (expired?)',
    });
    // The old text prefix is just text now: only data carries a kind.
    expect(decodeJobFailure('[unavailable] slurmctld does not answer')).toMatchObject({ kind: 'rejected' });
  });

  it.each(['{"kind":"down","message":"x"}', '{"kind":"unavailable"}', '["unavailable","x"]', '42', 'null'])(
    'counts JSON that is not a failure (%s) as rejected, text kept whole',
    (reason) => {
      expect(decodeJobFailure(reason)).toEqual({ kind: 'rejected', message: reason });
    },
  );
});
