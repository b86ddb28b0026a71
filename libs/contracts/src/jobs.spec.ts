import fc from 'fast-check';
import {
  decodeJobFailure,
  encodeJobFailure,
  parseSchedulerJobName,
  schedulerJobName,
  type JobFailureKind,
} from './jobs';

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

describe('scheduler job names', () => {
  it('carry the submission, the generation and the node', () => {
    expect(schedulerJobName('ab12')).toBe('aiplane-ab12-g1');
    expect(schedulerJobName('ab12', 3, 0)).toBe('aiplane-ab12-g3-n0');
    expect(parseSchedulerJobName('aiplane-ab12-g3-n0')).toEqual({
      submissionId: 'ab12',
      generation: 3,
      nodeIndex: 0,
    });
  });

  it('read names from before generations as generation 1, and refuse anything else', () => {
    expect(parseSchedulerJobName('aiplane-ab12-n2')).toEqual({
      submissionId: 'ab12',
      generation: 1,
      nodeIndex: 2,
    });
    for (const name of ['aiplane-', 'aiplane-ab12-g0', 'aiplane-int-x', 'other-ab12-g1', 'aiplane-ab12-g1-n'])
      expect(parseSchedulerJobName(name)).toBeUndefined();
  });

  it('round-trip', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9]{1,32}$/),
        fc.integer({ min: 1, max: 999 }),
        fc.option(fc.integer({ min: 0, max: 1023 }), { nil: undefined }),
        (id, generation, node) => {
          const parts = parseSchedulerJobName(schedulerJobName(id, generation, node));
          expect(parts).toEqual({
            submissionId: id,
            generation,
            ...(node === undefined ? {} : { nodeIndex: node }),
          });
        },
      ),
    );
  });
});
