import { SchedulerError } from '@aiplane/scheduler';
import { RecordingScheduler } from './recording.scheduler';

const request = (jobName: string) => ({
  script: '#!/bin/sh\n',
  jobName,
  jobDir: `/jobs/${jobName}`,
  stdoutPath: `/jobs/${jobName}/stdout.log`,
  stderrPath: `/jobs/${jobName}/stderr.log`,
  env: {},
});

describe('RecordingScheduler', () => {
  it('records submit, cancel and query calls and answers from the jobs it started', async () => {
    const scheduler = new RecordingScheduler({ firstJobId: 7 });
    expect(await scheduler.submit(request('aiplane-a'))).toBe('7');
    expect(await scheduler.submit(request('aiplane-b'))).toBe('8');
    await scheduler.cancel('7');
    const seen = await scheduler.query(['7', '8', '9']);

    expect(scheduler.submitted.map((r) => r.jobName)).toEqual(['aiplane-a', 'aiplane-b']);
    expect(scheduler.cancelled).toEqual(['7']);
    expect(scheduler.calls.at(-1)).toEqual({ method: 'query', jobIds: ['7', '8', '9'] });
    expect([...seen.keys()]).toEqual(['7', '8']);
    expect(seen.get('7')?.state).toBe('CANCELLED');
    expect(seen.get('8')).toMatchObject({ state: 'PENDING', workDir: '/jobs/aiplane-b' });
    expect(await scheduler.findByName('aiplane-b')).toMatchObject({ jobId: '8' });
    expect(await scheduler.listByNamePrefix('aiplane-')).toHaveLength(2);
  });

  it('plays scripted states and failures', async () => {
    const scheduler = new RecordingScheduler({
      jobs: [{ jobId: '1', name: 'x', state: 'RUNNING', nodes: ['n1'] }],
    });
    scheduler.setState('1', 'FAILED', { exitCode: 3 });
    expect((await scheduler.query(['1'])).get('1')).toMatchObject({ state: 'FAILED', exitCode: 3 });
    // A finished job stays as it ended when cancelled.
    await scheduler.cancel('1');
    expect(scheduler.job('1')?.state).toBe('FAILED');

    scheduler.failNext('submit', new SchedulerError('UNAVAILABLE', 'slurmctld does not answer'));
    await expect(scheduler.submit(request('y'))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(scheduler.submit(request('y'))).resolves.toBe('1001');
    expect(scheduler.finishedJob).toBeUndefined();
  });

  it('reads a completion log only when given one', async () => {
    const scheduler = new RecordingScheduler({
      completionLog: { '5': { jobId: '5', name: 'z', state: 'TIMEOUT', nodes: [] } },
    });
    await expect(scheduler.finishedJob?.('5', '/w')).resolves.toMatchObject({ state: 'TIMEOUT' });
    expect(scheduler.calls).toEqual([{ method: 'finishedJob', jobId: '5', workDir: '/w' }]);
  });
});
