import fc from 'fast-check';
import { readJobFailure, tagJobFailure, type JobFailureKind } from './jobs';

describe('job failure tags', () => {
  it('reads back the kind and the message it was tagged with, whatever the message', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<JobFailureKind>('unavailable', 'rejected'),
        fc.string(),
        (kind, message) => {
          expect(readJobFailure(tagJobFailure(kind, message))).toEqual({ kind, message });
        },
      ),
    );
  });

  it('counts an untagged failure as rejected and keeps its message whole', () => {
    expect(readJobFailure('submission abc does not exist (expired?)')).toEqual({
      kind: 'rejected',
      message: 'submission abc does not exist (expired?)',
    });
    // A tag must lead the message; one inside it is just text.
    expect(readJobFailure('sbatch said [unavailable] once')).toMatchObject({ kind: 'rejected' });
  });
});
