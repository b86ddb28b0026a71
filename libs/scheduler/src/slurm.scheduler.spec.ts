import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandResult, CommandRunner, CommandRunOptions } from './command.runner';
import { SchedulerError } from './scheduler.errors';
import type { SubmitRequest } from './scheduler.types';
import { SQUEUE_DELIMITER, SQUEUE_FORMAT, SQUEUE_LIST_FORMAT, SQUEUE_QUEUE_FORMAT } from './slurm.parsers';
import { SlurmScheduler } from './slurm.scheduler';

interface Call {
  command: string;
  args: readonly string[];
  options: CommandRunOptions | undefined;
}

/** Answers each command from a handler; records every call. */
class FakeRunner implements CommandRunner {
  readonly calls: Call[] = [];
  constructor(
    private readonly handler: (command: string, args: readonly string[]) => Partial<CommandResult>,
  ) {}

  run(command: string, args: readonly string[], options?: CommandRunOptions): Promise<CommandResult> {
    this.calls.push({ command, args, options });
    return Promise.resolve({ stdout: '', stderr: '', exitCode: 0, ...this.handler(command, args) });
  }
}

const fixture = (name: string): string => readFileSync(join(__dirname, '__fixtures__', name), 'utf8');
const line = (...fields: string[]): string => `${fields.join(SQUEUE_DELIMITER)}\n`;

async function rejection(promise: Promise<unknown>): Promise<SchedulerError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SchedulerError);
    return error as SchedulerError;
  }
  throw new Error('expected a rejection');
}

describe('SlurmScheduler', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'aiplane-slurm-spec-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const request = (
    env: Record<string, string> = { PATH: '/usr/bin:/bin', HOME: '/root' },
  ): SubmitRequest => ({
    script: '#!/bin/bash\n#SBATCH --job-name=aiplane-x\necho "$VALUE"\n',
    jobName: 'aiplane-x',
    jobDir: dir,
    stdoutPath: join(dir, 'stdout.log'),
    stderrPath: join(dir, 'stderr.log'),
    env,
  });

  describe('submit', () => {
    it('writes job.sh 0700 and runs sbatch without a shell, with exactly the job environment', async () => {
      const runner = new FakeRunner(() => ({ stdout: '4242\n' }));
      const env = { PATH: '/usr/bin:/bin', HOME: '/root', VALUE: `it's "$(touch /tmp/x)"\nline2` };
      const id = await new SlurmScheduler(runner, { commandTimeoutMs: 1234 }).submit(request(env));

      expect(id).toBe('4242');
      const script = join(dir, 'job.sh');
      expect(readFileSync(script, 'utf8')).toBe(request().script);
      expect(statSync(script).mode & 0o777).toBe(0o700);
      expect(runner.calls).toEqual([
        {
          command: 'sbatch',
          args: ['--parsable', '--export=ALL', script],
          options: { env, cwd: dir, timeoutMs: 1234 },
        },
      ]);
      // The environment object is passed through as is: nothing of this process's env is merged in.
      expect(runner.calls[0]?.options?.env).toBe(env);
    });

    it('reads "<id>;<cluster>"', async () => {
      const runner = new FakeRunner(() => ({ stdout: '77;alps\n' }));
      await expect(new SlurmScheduler(runner).submit(request())).resolves.toBe('77');
    });

    it('reports a refusal as REJECTED with sbatch stderr', async () => {
      const stderr = fixture('sbatch-invalid-partition-22.05.stderr.txt');
      const runner = new FakeRunner(() => ({ exitCode: 1, stderr }));
      const error = await rejection(new SlurmScheduler(runner).submit(request()));
      expect(error.code).toBe('REJECTED');
      expect(error.message).toContain('Invalid partition name specified');
    });

    it.each([
      'sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)',
      'sbatch: error: Batch job submission failed: Socket timed out on send/recv operation',
      'sbatch: error: Munge encode failed: Failed to access "/run/munge/munge.socket.2": No such file or directory',
    ])('reports %j as UNAVAILABLE', async (stderr) => {
      const runner = new FakeRunner(() => ({ exitCode: 1, stderr }));
      expect((await rejection(new SlurmScheduler(runner).submit(request()))).code).toBe('UNAVAILABLE');
    });

    it('reports output without a job id as PARSE', async () => {
      const runner = new FakeRunner(() => ({ stdout: 'hello\n' }));
      expect((await rejection(new SlurmScheduler(runner).submit(request()))).code).toBe('PARSE');
    });

    it('never writes job.sh through a planted symlink or into a FIFO, and runs nothing', async () => {
      const target = join(dir, 'bashrc');
      writeFileSync(target, 'original\n');
      symlinkSync(target, join(dir, 'job.sh'));
      const runner = new FakeRunner(() => ({ stdout: '1\n' }));
      const error = await rejection(new SlurmScheduler(runner).submit(request()));
      expect(error).toMatchObject({ code: 'REJECTED', message: expect.stringContaining('symbolic link') });
      expect(readFileSync(target, 'utf8')).toBe('original\n');

      rmSync(join(dir, 'job.sh'));
      execFileSync('mkfifo', [join(dir, 'job.sh')]);
      expect((await rejection(new SlurmScheduler(runner).submit(request()))).code).toBe('REJECTED');
      expect(runner.calls).toHaveLength(0);
    });

    it('refuses a relative jobDir before running anything', async () => {
      const runner = new FakeRunner(() => ({}));
      const error = await rejection(new SlurmScheduler(runner).submit({ ...request(), jobDir: 'rel' }));
      expect(error.code).toBe('REJECTED');
      expect(runner.calls).toHaveLength(0);
    });
  });

  describe('query', () => {
    // SQUEUE_QUEUE_FORMAT: id, state, exit, nodes, reason, partition, priority, start, submit, limit, user, name.
    const job = (
      id: string,
      state: string,
      nodes: string,
      reason: string,
      extra: { partition?: string; priority?: string; start?: string; user?: string; name?: string } = {},
    ): string =>
      line(
        id,
        state,
        state === 'FAILED' ? '768' : '0',
        nodes,
        reason,
        extra.partition ?? 'gpu',
        extra.priority ?? '100',
        extra.start ?? 'N/A',
        '2026-12-03T10:00:00',
        '1:00:00',
        extra.user ?? 'root',
        extra.name ?? `aiplane-${id}`,
      );
    const squeueOut =
      job('101', 'RUNNING', 'gpu[01-02]', 'None', { start: '2026-12-03T10:00:05' }) +
      job('102', 'PENDING', '', 'Resources', { priority: '50', start: '2026-12-03T12:00:00' }) +
      job('103', 'FAILED', 'gpu03', 'NonZeroExitCode') +
      // Another job in a state this adapter does not know must not break the poll.
      job('999', 'SOME_FUTURE_STATE', '', 'None', { name: 'other' }) +
      // Other users' pending jobs decide the queue: one ahead by priority, one behind, one elsewhere.
      job('200', 'PENDING', '', 'Priority', { priority: '80', user: 'bob' }) +
      job('201', 'PENDING', '', 'Priority', { priority: '10', user: 'bob' }) +
      job('202', 'PENDING', '', 'Priority', { priority: '999', user: 'bob', partition: 'cpu' }) +
      job('203_[1-50]', 'PENDING', '', 'Priority', { priority: '90', user: 'carol' });

    it("makes exactly one squeue call, every user's jobs, for N ids and filters locally", async () => {
      const runner = new FakeRunner(() => ({ stdout: squeueOut }));
      const result = await new SlurmScheduler(runner, { user: 'root' }).query(['101', '102', '103']);

      expect(runner.calls).toHaveLength(1);
      expect(runner.calls[0]).toMatchObject({
        command: 'squeue',
        args: ['--noheader', '--states=all', `--Format=${SQUEUE_QUEUE_FORMAT}`],
      });
      expect([...result.keys()].sort()).toEqual(['101', '102', '103']);
      expect(result.get('101')).toEqual({
        jobId: '101',
        name: 'aiplane-101',
        state: 'RUNNING',
        nodes: ['gpu01', 'gpu02'],
        partition: 'gpu',
        priority: 100,
        submittedAt: new Date('2026-12-03T10:00:00').toISOString(),
        startedAt: new Date('2026-12-03T10:00:05').toISOString(),
        timeLimitSeconds: 3600,
      });
      expect(result.get('102')).toMatchObject({
        state: 'PENDING',
        nodes: [],
        reason: 'Resources',
        // Behind bob's 200 and carol's array 203 (higher priority, same partition); not behind
        // 201 (lower) or 202 (another partition).
        queuePosition: 3,
        estimatedStart: new Date('2026-12-03T12:00:00').toISOString(),
      });
      expect(result.get('102')).not.toHaveProperty('startedAt');
      expect(result.get('101')).not.toHaveProperty('queuePosition');
      expect(result.get('103')).toMatchObject({ state: 'FAILED', exitCode: 3 });
    });

    it("keeps only the configured user's jobs: an id another user's job now has is not ours", async () => {
      const runner = new FakeRunner((command) => (command === 'squeue' ? { stdout: squeueOut } : {}));
      const result = await new SlurmScheduler(runner, { user: 'alice' }).query(['101', '200']);
      expect(result.size).toBe(0);
      expect(runner.calls[0]?.args).not.toContain('--me');
    });

    it('asks scontrol, one by one, only for ids squeue no longer lists', async () => {
      const runner = new FakeRunner((command, args) => {
        if (command === 'squeue') return { stdout: squeueOut };
        if (args[2] === '9') return { stdout: fixture('scontrol-show-job-completed-22.05.txt') };
        return { exitCode: 1, stderr: fixture('scontrol-show-job-invalid-22.05.stderr.txt') };
      });
      const result = await new SlurmScheduler(runner, { user: 'root' }).query(['101', '9', '5555']);

      expect(runner.calls.map((call) => [call.command, ...call.args])).toEqual([
        ['squeue', '--noheader', '--states=all', `--Format=${SQUEUE_QUEUE_FORMAT}`],
        ['scontrol', 'show', 'job', '9'],
        ['scontrol', 'show', 'job', '5555'],
      ]);
      expect(result.get('9')).toMatchObject({ jobId: '9', state: 'COMPLETED', exitCode: 0, nodes: ['vm'] });
      expect(result.has('5555')).toBe(false);
    });

    it("ignores scontrol's answer about another user's job that reuses the id", async () => {
      const runner = new FakeRunner((command) =>
        command === 'squeue' ? { stdout: '' } : { stdout: fixture('scontrol-show-job-completed-22.05.txt') },
      );
      const result = await new SlurmScheduler(runner, { user: 'alice' }).query(['9']);
      expect(result.size).toBe(0);
    });

    it('makes no call for no ids, and never asks about ids that cannot be SLURM ids', async () => {
      const runner = new FakeRunner(() => ({ stdout: '' }));
      expect((await new SlurmScheduler(runner).query([])).size).toBe(0);
      expect(runner.calls).toHaveLength(0);
      await new SlurmScheduler(runner).query(['abc', '1; rm -rf /']);
      expect(runner.calls).toHaveLength(0);
    });

    it('reports an unreachable controller as UNAVAILABLE', async () => {
      const runner = new FakeRunner(() => ({
        exitCode: 1,
        stderr: 'slurm_load_jobs error: Unable to contact slurm controller (connect failure)',
      }));
      expect((await rejection(new SlurmScheduler(runner).query(['1']))).code).toBe('UNAVAILABLE');
    });

    it('passes the timeout to every command', async () => {
      const runner = new FakeRunner(() => ({ stdout: '' }));
      await new SlurmScheduler(runner, { commandTimeoutMs: 999 }).query(['1']);
      expect(runner.calls.every((call) => call.options?.timeoutMs === 999)).toBe(true);
    });
  });

  describe('findByName', () => {
    it('returns the newest job with exactly that name', async () => {
      const runner = new FakeRunner(() => ({
        stdout:
          line('20', 'CANCELLED', '15', 'vm', 'None', 'aiplane-a') +
          line('100', 'RUNNING', '0', 'vm', 'None', 'aiplane-a') +
          line('99', 'PENDING', '0', '', 'Priority', 'aiplane-a') +
          line('200', 'RUNNING', '0', 'vm', 'None', 'aiplane-a,other') +
          line('300', 'SOME_FUTURE_STATE', '0', 'vm', 'None', 'other'),
      }));
      const found = await new SlurmScheduler(runner).findByName('aiplane-a');
      expect(found).toMatchObject({ jobId: '100', state: 'RUNNING' });
      expect(runner.calls[0]?.args).toEqual([
        '--noheader',
        '--states=all',
        '--me',
        '--name=aiplane-a',
        `--Format=${SQUEUE_FORMAT}`,
      ]);
    });

    it('returns undefined when nothing carries the name', async () => {
      const runner = new FakeRunner(() => ({ stdout: '' }));
      await expect(new SlurmScheduler(runner).findByName('aiplane-none')).resolves.toBeUndefined();
    });
  });

  describe('listByNamePrefix', () => {
    it('lists every job of the user whose name starts with the prefix, with its working directory', async () => {
      const runner = new FakeRunner(() => ({
        stdout:
          line('20', 'CANCELLED', '15', 'vm', 'None', '/state/jobs/a', 'aiplane-a') +
          line('21', 'RUNNING', '0', 'vm', 'None', '/state/jobs/b/n0', 'aiplane-b-n0') +
          line('22', 'SOME_FUTURE_STATE', '0', 'vm', 'None', '/elsewhere', 'not-ours') +
          line('23', 'PENDING', '0', '', 'Priority', '(null)', 'aiplane-c'),
      }));
      const listed = await new SlurmScheduler(runner).listByNamePrefix('aiplane-');
      expect(listed).toEqual([
        {
          jobId: '20',
          name: 'aiplane-a',
          state: 'CANCELLED',
          nodes: ['vm'],
          exitCode: 143,
          workDir: '/state/jobs/a',
        },
        { jobId: '21', name: 'aiplane-b-n0', state: 'RUNNING', nodes: ['vm'], workDir: '/state/jobs/b/n0' },
        { jobId: '23', name: 'aiplane-c', state: 'PENDING', nodes: [], reason: 'Priority' },
      ]);
      expect(runner.calls[0]?.args).toEqual([
        '--noheader',
        '--states=all',
        '--me',
        `--Format=${SQUEUE_LIST_FORMAT}`,
      ]);
    });

    it('reports an unreachable controller as UNAVAILABLE', async () => {
      const runner = new FakeRunner(() => ({
        exitCode: 1,
        stderr: 'slurm_load_jobs error: Unable to contact slurm controller (connect failure)',
      }));
      expect((await rejection(new SlurmScheduler(runner).listByNamePrefix('aiplane-'))).code).toBe(
        'UNAVAILABLE',
      );
    });
  });

  describe('cancel', () => {
    it('runs scancel with the id as its own argument', async () => {
      const runner = new FakeRunner(() => ({}));
      await new SlurmScheduler(runner).cancel('123');
      expect(runner.calls.map((call) => [call.command, ...call.args])).toEqual([['scancel', '123']]);
    });

    it.each([
      'scancel: error: Kill job error on job id 123: Invalid job id specified',
      'scancel: error: Kill job error on job id 123: Job/step already completing or completed',
    ])('resolves when the job is gone: %j', async (stderr) => {
      const runner = new FakeRunner(() => ({ exitCode: 1, stderr }));
      await expect(new SlurmScheduler(runner).cancel('123')).resolves.toBeUndefined();
    });

    it('throws REJECTED when SLURM refuses', async () => {
      const runner = new FakeRunner(() => ({
        exitCode: 1,
        stderr: 'scancel: error: Kill job error on job id 123: Access/permission denied',
      }));
      const error = await rejection(new SlurmScheduler(runner).cancel('123'));
      expect(error.code).toBe('REJECTED');
      expect(error.message).toContain('Access/permission denied');
    });

    it('throws UNAVAILABLE when the controller does not answer', async () => {
      const runner = new FakeRunner(() => ({
        exitCode: 1,
        stderr:
          'scancel: error: Kill job error on job id 123: Unable to contact slurm controller (connect failure)',
      }));
      expect((await rejection(new SlurmScheduler(runner).cancel('123'))).code).toBe('UNAVAILABLE');
    });

    it('refuses an id that is not a SLURM job id without running anything', async () => {
      const runner = new FakeRunner(() => ({}));
      expect((await rejection(new SlurmScheduler(runner).cancel('--me'))).code).toBe('REJECTED');
      expect(runner.calls).toHaveLength(0);
    });
  });

  describe('ping', () => {
    it('resolves when a controller is UP', async () => {
      const runner = new FakeRunner(() => ({ stdout: fixture('scontrol-ping-22.05.txt') }));
      await expect(new SlurmScheduler(runner).ping()).resolves.toBeUndefined();
      expect(runner.calls.map((call) => [call.command, ...call.args])).toEqual([['scontrol', 'ping']]);
    });

    it('resolves when the primary is down but the backup answers', async () => {
      const runner = new FakeRunner(() => ({
        exitCode: 1,
        stdout: 'Slurmctld(primary) at a is DOWN\nSlurmctld(backup) at b is UP\n',
      }));
      await expect(new SlurmScheduler(runner).ping()).resolves.toBeUndefined();
    });

    it('throws UNAVAILABLE when no controller answers, naming each controller without the banner', async () => {
      const runner = new FakeRunner(() => ({
        exitCode: 1,
        stdout: [
          'Slurmctld(primary) at vm is DOWN',
          '*****************************************',
          '** RESTORE SLURMCTLD DAEMON TO SERVICE **',
          '*****************************************',
          '',
        ].join('\n'),
      }));
      const error = await rejection(new SlurmScheduler(runner).ping());
      expect(error.code).toBe('UNAVAILABLE');
      expect(error.message).toBe('slurmctld does not answer: Slurmctld(primary) at vm is DOWN');
    });
  });

  describe('finishedJob', () => {
    const log = (): string => {
      const file = join(dir, 'jobcomp.log');
      writeFileSync(file, fixture('jobcomp-filetxt-22.05.txt'));
      return file;
    };

    it("reads how a purged job ended from the jobcomp log, by id and directory, the user's own", async () => {
      const scheduler = new SlurmScheduler(new FakeRunner(() => ({})), { user: 'root', jobCompFile: log() });
      // Id 75 was used three times: by an older era, by another user, and by this job.
      expect(await scheduler.finishedJob('75', '/state/jobs/af892a1a841140c0bf42a1c6bc5c3f1f')).toEqual({
        jobId: '75',
        name: 'aiplane-af892a1a841140c0bf42a1c6bc5c3f1f',
        state: 'TIMEOUT',
        nodes: ['vm'],
        exitCode: 143,
      });
      expect(await scheduler.finishedJob('5', '/tmp/sched probe')).toMatchObject({
        state: 'FAILED',
        exitCode: 3,
      });
      expect(await scheduler.finishedJob('6', '/work/main/')).toMatchObject({
        state: 'COMPLETED',
        exitCode: 0,
      });
      expect(await scheduler.finishedJob('75', '/somewhere/else')).toBeUndefined();
      expect(await scheduler.finishedJob('999', '/work/main')).toBeUndefined();
    });

    it('finds the log through scontrol show config once, and has no evidence when it is not readable', async () => {
      const file = log();
      const runner = new FakeRunner(() => ({
        stdout: `JobCompLoc              = ${file}\nJobCompType             = jobcomp/filetxt\n`,
      }));
      const scheduler = new SlurmScheduler(runner, { user: 'root' });
      expect(await scheduler.finishedJob('6', '/work/main')).toMatchObject({ state: 'COMPLETED' });
      expect(await scheduler.finishedJob('5', '/tmp/sched probe')).toMatchObject({ state: 'FAILED' });
      expect(runner.calls.map((call) => [call.command, ...call.args])).toEqual([
        ['scontrol', 'show', 'config'],
      ]);

      const elsewhere = new SlurmScheduler(new FakeRunner(() => ({})), {
        jobCompFile: join(dir, 'none.log'),
      });
      expect(await elsewhere.finishedJob('6', '/work/main')).toBeUndefined();
      const noLog = new SlurmScheduler(
        new FakeRunner(() => ({ stdout: 'JobCompLoc = (null)\nJobCompType = jobcomp/none\n' })),
      );
      expect(await noLog.finishedJob('6', '/work/main')).toBeUndefined();
    });
  });

  describe('an unreachable controller', () => {
    const UNREACHABLE = 'slurm_load_jobs error: Unable to contact slurm controller (connect failure)';

    it("once seen, makes later calls fail after a ping instead of the clients' retry loop, until it is back", async () => {
      let up = false;
      const runner = new FakeRunner((command) => {
        if (command === 'scontrol')
          return up
            ? { stdout: fixture('scontrol-ping-22.05.txt') }
            : { exitCode: 1, stdout: 'Slurmctld(primary) at vm is DOWN\n' };
        return up ? { stdout: '' } : { exitCode: 1, stderr: UNREACHABLE };
      });
      const scheduler = new SlurmScheduler(runner);
      const commands = (): string[] => runner.calls.map((call) => call.command);

      expect((await rejection(scheduler.findByName('aiplane-a'))).code).toBe('UNAVAILABLE');
      expect(commands()).toEqual(['squeue']);

      // Down: each call costs one ping and no squeue/scancel/sbatch.
      expect((await rejection(scheduler.findByName('aiplane-a'))).code).toBe('UNAVAILABLE');
      expect((await rejection(scheduler.cancel('123'))).code).toBe('UNAVAILABLE');
      expect(commands()).toEqual(['squeue', 'scontrol', 'scontrol']);

      // Back: the ping clears the state and the real command runs; later calls spend no ping.
      up = true;
      await expect(scheduler.findByName('aiplane-a')).resolves.toBeUndefined();
      await expect(scheduler.findByName('aiplane-a')).resolves.toBeUndefined();
      expect(commands()).toEqual(['squeue', 'scontrol', 'scontrol', 'scontrol', 'squeue', 'squeue']);
    });

    it('is not assumed after a refusal', async () => {
      const runner = new FakeRunner(() => ({
        exitCode: 1,
        stderr: 'sbatch: error: Batch job submission failed: Invalid partition name specified',
      }));
      const scheduler = new SlurmScheduler(runner);
      expect((await rejection(scheduler.submit(request()))).code).toBe('REJECTED');
      expect((await rejection(scheduler.submit(request()))).code).toBe('REJECTED');
      expect(runner.calls.map((call) => call.command)).toEqual(['sbatch', 'sbatch']);
    });
  });
});
