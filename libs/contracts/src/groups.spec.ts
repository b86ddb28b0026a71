import { ENTRY_STATUSES, GROUP_OVERALL_STATUSES, overallStatus, replicaStatus } from './groups';
import { SERVICE_STATUSES } from './status';

describe('replicaStatus', () => {
  it('is running while its job runs and it answers', () => {
    expect(replicaStatus('RUNNING', true, true)).toBe('running');
  });
  it('is configuring until it first answers', () => {
    expect(replicaStatus('RUNNING', false, false)).toBe('configuring');
  });
  it('has failed once it stopped answering after serving', () => {
    expect(replicaStatus('RUNNING', false, true)).toBe('failed');
  });
  it('follows its job into terminal states', () => {
    expect(replicaStatus('CANCELLED', false, true)).toBe('cancelled');
    expect(replicaStatus('PENDING', false, false)).toBe('pending');
  });
});

describe('overallStatus', () => {
  it.each([
    [['running', 'running'], 'running'],
    [['running', 'configuring'], 'partially_running'],
    [['running', 'failed'], 'degraded'],
    [['configuring', 'pending'], 'configuring'],
    [['pending', 'pending'], 'pending'],
    [['failed', 'configuring'], 'failed'],
    [['cancelled', 'cancelled'], 'cancelled'],
    [['completed', 'completed'], 'completed'],
    [['timeout', 'timeout'], 'failed'],
    [['cancelled', 'completed'], 'cancelled'],
  ] as const)('%j → %s', (statuses, expected) => {
    expect(overallStatus(statuses)).toBe(expected);
  });
});

describe('ENTRY_STATUSES', () => {
  it('holds every service status and every group status, each once', () => {
    expect(new Set(ENTRY_STATUSES).size).toBe(ENTRY_STATUSES.length);
    expect([...ENTRY_STATUSES].sort()).toEqual(
      [...new Set([...SERVICE_STATUSES, ...GROUP_OVERALL_STATUSES])].sort(),
    );
  });
});
