import fc from 'fast-check';
import {
  deriveStatus,
  isTerminalJobState,
  isTerminalStatus,
  JOB_STATES,
  SERVICE_STATUSES,
  type JobState,
} from './status';

describe('deriveStatus', () => {
  it.each<[JobState, boolean, string]>([
    ['PENDING', false, 'pending'],
    ['REQUEUED', false, 'pending'],
    ['SUSPENDED', true, 'pending'],
    ['CONFIGURING', false, 'configuring'],
    ['RUNNING', false, 'configuring'],
    ['RUNNING', true, 'running'],
    ['COMPLETING', true, 'running'],
    ['COMPLETED', true, 'completed'],
    ['FAILED', false, 'failed'],
    ['CANCELLED', true, 'cancelled'],
    ['TIMEOUT', false, 'timeout'],
    ['NODE_FAIL', false, 'node_fail'],
    ['PREEMPTED', false, 'preempted'],
    ['OUT_OF_MEMORY', false, 'out_of_memory'],
    ['BOOT_FAIL', false, 'failed'],
    ['DEADLINE', false, 'timeout'],
  ])('%s with ready=%s is %s', (state, ready, expected) => {
    expect(deriveStatus(state, ready)).toBe(expected);
  });

  it('maps every scheduler state to a contract status, terminal exactly when the job state is terminal', () => {
    fc.assert(
      fc.property(fc.constantFrom(...JOB_STATES), fc.boolean(), (state, ready) => {
        const status = deriveStatus(state, ready);
        expect(SERVICE_STATUSES).toContain(status);
        expect(isTerminalStatus(status)).toBe(isTerminalJobState(state));
      }),
    );
  });

  it('only reports running when the workload is ready', () => {
    fc.assert(
      fc.property(fc.constantFrom(...JOB_STATES), (state) => {
        expect(deriveStatus(state, false)).not.toBe('running');
      }),
    );
  });
});
