import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isTerminalJobState, JOB_STATES, type JobState } from '@aiplane/contracts';
import fc from 'fast-check';
import { SchedulerError } from './scheduler.errors';
import type { JobInfo } from './scheduler.types';
import {
  decodeSlurmExitCode,
  expandHostlist,
  KNOWN_SLURM_STATES,
  normaliseSlurmState,
  parseSbatchParsable,
  parseScontrolShowJob,
  parseSlurmDuration,
  parseSlurmTime,
  parseTestOnlyStart,
  parseSqueue,
  parseSqueueQueueLine,
  SQUEUE_DELIMITER,
  SQUEUE_FORMAT,
  squeuePendingJob,
} from './slurm.parsers';

const fixture = (name: string): string => readFileSync(join(__dirname, '__fixtures__', name), 'utf8');

function expectSchedulerError(fn: () => unknown, code: SchedulerError['code']): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(SchedulerError);
  expect((thrown as SchedulerError).code).toBe(code);
}

describe('normaliseSlurmState', () => {
  const expected: Record<string, JobState> = {
    BF: 'BOOT_FAIL',
    CA: 'CANCELLED',
    CD: 'COMPLETED',
    CF: 'CONFIGURING',
    CG: 'COMPLETING',
    DL: 'DEADLINE',
    F: 'FAILED',
    NF: 'NODE_FAIL',
    OOM: 'OUT_OF_MEMORY',
    PD: 'PENDING',
    PR: 'PREEMPTED',
    R: 'RUNNING',
    RD: 'PENDING',
    RF: 'REQUEUED',
    RH: 'REQUEUED',
    RQ: 'REQUEUED',
    RS: 'RUNNING',
    RV: 'CANCELLED',
    SI: 'RUNNING',
    SE: 'REQUEUED',
    SO: 'COMPLETING',
    ST: 'SUSPENDED',
    S: 'SUSPENDED',
    TO: 'TIMEOUT',
    BOOT_FAIL: 'BOOT_FAIL',
    CANCELLED: 'CANCELLED',
    COMPLETED: 'COMPLETED',
    CONFIGURING: 'CONFIGURING',
    COMPLETING: 'COMPLETING',
    DEADLINE: 'DEADLINE',
    FAILED: 'FAILED',
    NODE_FAIL: 'NODE_FAIL',
    OUT_OF_MEMORY: 'OUT_OF_MEMORY',
    PENDING: 'PENDING',
    PREEMPTED: 'PREEMPTED',
    RUNNING: 'RUNNING',
    RESV_DEL_HOLD: 'PENDING',
    REQUEUE_FED: 'REQUEUED',
    REQUEUE_HOLD: 'REQUEUED',
    REQUEUED: 'REQUEUED',
    RESIZING: 'RUNNING',
    REVOKED: 'CANCELLED',
    SIGNALING: 'RUNNING',
    SPECIAL_EXIT: 'REQUEUED',
    STAGE_OUT: 'COMPLETING',
    STOPPED: 'SUSPENDED',
    SUSPENDED: 'SUSPENDED',
    TIMEOUT: 'TIMEOUT',
    EXPEDITING: 'PENDING',
    UPDATE_DB: 'PENDING',
    POWER_UP_NODE: 'CONFIGURING',
    LAUNCH_FAILED: 'FAILED',
    RECONFIG_FAIL: 'FAILED',
  };

  it.each(Object.entries(expected))('%s → %s', (raw, state) => {
    expect(normaliseSlurmState(raw)).toBe(state);
  });

  it('covers every spelling it claims to know, and every contract state is reachable', () => {
    expect([...KNOWN_SLURM_STATES].sort()).toEqual(Object.keys(expected).sort());
    expect(new Set(Object.values(expected))).toEqual(new Set(JOB_STATES));
  });

  it.each([
    ['CANCELLED by 0', 'CANCELLED'],
    ['CANCELLED+', 'CANCELLED'],
    ['  running\n', 'RUNNING'],
    ['RUNNING,COMPLETING', 'RUNNING'],
    ['pd', 'PENDING'],
  ] as const)('tolerates the decorations sacct and flag lists add: %j', (raw, state) => {
    expect(normaliseSlurmState(raw)).toBe(state);
  });

  it.each(['', 'BOGUS', 'X', 'DONE', '+', 'JobState=RUNNING'])('rejects %j with PARSE', (raw) => {
    expectSchedulerError(() => normaliseSlurmState(raw), 'PARSE');
  });

  it('maps every spelling to a contract state whatever the case and padding', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...KNOWN_SLURM_STATES),
        fc.boolean(),
        fc.stringMatching(/^[ \t]{0,3}$/),
        (raw, lower, pad) => {
          const state = normaliseSlurmState(`${pad}${lower ? raw.toLowerCase() : raw}${pad}`);
          expect(JOB_STATES).toContain(state);
        },
      ),
    );
  });
});

describe('expandHostlist', () => {
  it.each([
    ['node[001-003,007],gpu01', ['node001', 'node002', 'node003', 'node007', 'gpu01']],
    ['vm', ['vm']],
    ['', []],
    ['(null)', []],
    ['None assigned', []],
    ['a1,b2', ['a1', 'b2']],
    ['node[8-10]', ['node8', 'node9', 'node10']],
    ['node[08-10]', ['node08', 'node09', 'node10']],
    ['gpu[1-2]-ib[0-1]', ['gpu1-ib0', 'gpu1-ib1', 'gpu2-ib0', 'gpu2-ib1']],
    ['rack[1]x,c[5,3]', ['rack1x', 'c5', 'c3']],
    ['my-node.cluster', ['my-node.cluster']],
  ])('%j', (expr, hosts) => {
    expect(expandHostlist(expr)).toEqual(hosts);
  });

  it.each(['node[1-', 'node]1[', 'node[a-b]', 'node[3-1]', 'a,,b', 'n[[1]]', 'n[1-1000000]'])(
    'rejects %j with PARSE',
    (expr) => {
      expectSchedulerError(() => expandHostlist(expr), 'PARSE');
    },
  );

  it('expands what a compressor produces back to the same hosts', () => {
    // Compress the way SLURM does: consecutive numbers of equal width under one prefix share a range.
    const compress = (prefix: string, width: number, numbers: number[]): string => {
      const sorted = [...new Set(numbers)].sort((a, b) => a - b);
      const ranges: string[] = [];
      const fmt = (n: number): string => String(n).padStart(width, '0');
      for (let i = 0; i < sorted.length;) {
        let j = i;
        while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
        ranges.push(i === j ? fmt(sorted[i]!) : `${fmt(sorted[i]!)}-${fmt(sorted[j]!)}`);
        i = j + 1;
      }
      return `${prefix}[${ranges.join(',')}]`;
    };
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            prefix: fc.stringMatching(/^[a-z][a-z0-9-]{0,6}[a-z-]$/),
            width: fc.integer({ min: 1, max: 4 }),
            numbers: fc.array(fc.integer({ min: 0, max: 999 }), { minLength: 1, maxLength: 20 }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        (groups) => {
          const expr = groups
            .map((g) =>
              compress(
                g.prefix,
                g.width,
                g.numbers.filter((n) => String(n).length <= g.width),
              ),
            )
            .filter((part) => !part.endsWith('[]'))
            .join(',');
          fc.pre(expr !== '');
          const expected = groups.flatMap((g) =>
            [...new Set(g.numbers.filter((n) => String(n).length <= g.width))]
              .sort((a, b) => a - b)
              .map((n) => `${g.prefix}${String(n).padStart(g.width, '0')}`),
          );
          expect(expandHostlist(expr)).toEqual(expected);
        },
      ),
    );
  });
});

describe('parseSbatchParsable', () => {
  it.each([
    ['12345\n', '12345'],
    ['12345;cluster\n', '12345'],
    ['12345', '12345'],
    ['Submitted batch job 77\n', '77'],
  ])('%j → %s', (stdout, id) => {
    expect(parseSbatchParsable(stdout)).toBe(id);
  });

  it('reads the real 22.05 output', () => {
    expect(parseSbatchParsable(fixture('sbatch-parsable-22.05.txt'))).toMatch(/^\d+$/);
  });

  it.each(['', '\n', 'abc', '12a', 'sbatch: error: x'])('rejects %j with PARSE', (stdout) => {
    expectSchedulerError(() => parseSbatchParsable(stdout), 'PARSE');
  });

  it('round-trips any id and cluster', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 2n ** 32n }),
        fc.option(fc.stringMatching(/^[a-z0-9_-]{1,12}$/)),
        (id, cluster) => {
          expect(parseSbatchParsable(`${id}${cluster === null ? '' : `;${cluster}`}\n`)).toBe(String(id));
        },
      ),
    );
  });
});

describe('decodeSlurmExitCode', () => {
  it.each([
    ['0', 0],
    ['768', 3],
    ['15', 143],
    ['9', 137],
    ['3:0', 3],
    ['0:15', 143],
    ['', undefined],
    ['N/A', undefined],
  ] as const)('%j → %j', (raw, code) => {
    expect(decodeSlurmExitCode(raw)).toBe(code);
  });
});

describe('parseSqueue', () => {
  it('uses -O with a control-character delimiter and the name last', () => {
    expect(SQUEUE_FORMAT.split(',').map((field) => field.split(':')[0])).toEqual([
      'JobID',
      'State',
      'exit_code',
      'NodeList',
      'Reason',
      'Name',
    ]);
    expect(SQUEUE_FORMAT.endsWith('Name:0')).toBe(true);
  });

  it('reads real squeue 22.05 output', () => {
    const jobs = parseSqueue(fixture('squeue-22.05.txt'));
    const byName = new Map(jobs.map((job) => [job.name, job]));
    expect(byName.get('aiplane-fixture-running')).toEqual({
      jobId: '8',
      name: 'aiplane-fixture-running',
      state: 'RUNNING',
      nodes: ['vm'],
    });
    expect(byName.get('aiplane-fixture-completed')).toMatchObject({
      state: 'COMPLETED',
      exitCode: 0,
      nodes: ['vm'],
    });
    expect(byName.get('aiplane-fixture-failed')).toMatchObject({
      state: 'FAILED',
      exitCode: 3,
      reason: 'NonZeroExitCode',
    });
    expect(byName.get('aiplane-fixture-cancelled')).toMatchObject({ state: 'CANCELLED', exitCode: 143 });
    // A name with a space and a pipe: the reason squeue's name comes last and the delimiter is \x1f.
    expect(byName.get('aiplane fixture|pending')).toEqual({
      jobId: '12',
      name: 'aiplane fixture|pending',
      state: 'PENDING',
      nodes: [],
      reason: 'BeginTime',
    });
  });

  it('rejects lines it cannot read with PARSE', () => {
    expectSchedulerError(() => parseSqueue('12|RUNNING|vm\n'), 'PARSE');
    expectSchedulerError(
      () => parseSqueue(['x', 'RUNNING', '0', 'vm', 'None', 'n'].join(SQUEUE_DELIMITER)),
      'PARSE',
    );
  });

  const hostsArb = fc.array(fc.stringMatching(/^[a-z][a-z0-9.-]{0,10}[a-z]$/), { maxLength: 3 });
  // A job as squeue would print it (its line) and as the parser must return it (its info).
  const squeueJobArb: fc.Arbitrary<{ line: string; info: JobInfo }> = fc
    .record({
      jobId: fc.bigInt({ min: 1n, max: 2n ** 32n - 1n }).map(String),
      // Anything but a newline, including the delimiter and the words squeue uses for "nothing".
      name: fc.string({ unit: 'grapheme', maxLength: 30 }).filter((name) => !name.includes('\n')),
      state: fc.constantFrom(...JOB_STATES),
      nodes: hostsArb,
      reason: fc.option(
        fc.stringMatching(/^[A-Za-z][A-Za-z_:, ()-]{0,30}$/).filter((r) => r !== 'None'),
        { nil: undefined },
      ),
      exit: fc.integer({ min: 0, max: 255 }),
      signal: fc.integer({ min: 0, max: 64 }),
    })
    .map(({ jobId, name, state, nodes, reason, exit, signal }) => {
      const terminal = isTerminalJobState(state);
      // squeue prints the raw wait status; a running job's is 0.
      const status = !terminal ? 0 : signal > 0 ? signal : exit << 8;
      const line = [jobId, state, String(status), nodes.join(','), reason ?? 'None', name].join(
        SQUEUE_DELIMITER,
      );
      const info: JobInfo = { jobId, name, state, nodes };
      if (reason !== undefined) info.reason = reason;
      if (terminal) info.exitCode = signal > 0 ? 128 + signal : exit;
      return { line, info };
    });

  it('parses back any list of jobs formatted as squeue prints them', () => {
    fc.assert(
      fc.property(fc.array(squeueJobArb, { maxLength: 20 }), (jobs) => {
        const stdout = jobs.map((job) => `${job.line}\n`).join('');
        expect(parseSqueue(stdout)).toEqual(jobs.map((job) => job.info));
      }),
    );
  });

  it('compresses node lists the way squeue does and still parses them', () => {
    const line = ['5', 'RUNNING', '0', 'gpu[01-03],cpu9', 'None', 'n'].join(SQUEUE_DELIMITER);
    expect(parseSqueue(line)[0]?.nodes).toEqual(['gpu01', 'gpu02', 'gpu03', 'cpu9']);
  });
});

describe('parseScontrolShowJob', () => {
  it.each([
    ['running', { state: 'RUNNING', nodes: ['vm'], name: 'aiplane-fixture-running' }],
    ['pending', { state: 'PENDING', nodes: [], name: 'aiplane fixture|pending', reason: 'BeginTime' }],
    ['completed', { state: 'COMPLETED', nodes: ['vm'], exitCode: 0, name: 'aiplane-fixture-completed' }],
    ['failed', { state: 'FAILED', nodes: ['vm'], exitCode: 3, reason: 'NonZeroExitCode' }],
    ['cancelled', { state: 'CANCELLED', nodes: ['vm'], exitCode: 143 }],
  ] as const)('reads real 22.05 output of a %s job', (kind, expected) => {
    const info = parseScontrolShowJob(fixture(`scontrol-show-job-${kind}-22.05.txt`));
    expect(info).toMatchObject(expected);
    expect(info?.jobId).toMatch(/^\d+$/);
  });

  it('omits the reason None and the exit code of a job still running', () => {
    const info = parseScontrolShowJob(fixture('scontrol-show-job-running-22.05.txt'));
    expect(info).not.toHaveProperty('reason');
    expect(info).not.toHaveProperty('exitCode');
  });

  it('keeps a name with spaces and "=" whole, and a reason with spaces', () => {
    const stdout = [
      'JobId=42 ArrayJobId=41 ArrayTaskId=1 JobName=my job Key=odd',
      '   UserId=alice(1000) GroupId=alice(1000) MCS_label=N/A',
      '   JobState=REQUEUE_HOLD Reason=launch failed requeued held Dependency=(null)',
      '   Requeue=1 Restarts=1 BatchFlag=1 Reboot=0 ExitCode=1:0',
      '   NodeList=(null)',
      '',
    ].join('\n');
    expect(parseScontrolShowJob(stdout)).toEqual({
      jobId: '42',
      name: 'my job Key=odd',
      state: 'REQUEUED',
      nodes: [],
      reason: 'launch failed requeued held',
    });
  });

  it('reads a multi-node timeout', () => {
    const stdout = [
      'JobId=7 JobName=big',
      '   JobState=TIMEOUT Reason=TimeLimit Dependency=(null)',
      '   Requeue=0 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:1',
      '   NodeList=gpu[01-02],cpu7',
    ].join('\n');
    expect(parseScontrolShowJob(stdout)).toEqual({
      jobId: '7',
      name: 'big',
      state: 'TIMEOUT',
      nodes: ['gpu01', 'gpu02', 'cpu7'],
      reason: 'TimeLimit',
      exitCode: 129,
    });
  });

  it('returns undefined for no record and PARSE for a record without a state', () => {
    expect(parseScontrolShowJob('')).toBeUndefined();
    expect(parseScontrolShowJob(fixture('scontrol-show-job-invalid-22.05.stderr.txt'))).toBeUndefined();
    expectSchedulerError(() => parseScontrolShowJob('JobId=5 JobName=x\n   NodeList=vm\n'), 'PARSE');
  });
});

describe('the queue format', () => {
  const local = (text: string): string => new Date(text).toISOString();

  it('reads real squeue 22.05 output: queue, timing and owner', () => {
    const lines = fixture('squeue-queue-22.05.txt')
      .split('\n')
      .filter((line) => line !== '');
    const byName = new Map(
      lines.map((line) => parseSqueueQueueLine(line)).map((job) => [job.info.name, job]),
    );
    expect(byName.get('aiplane-fixture-running')).toEqual({
      user: 'root',
      info: {
        jobId: '1854',
        name: 'aiplane-fixture-running',
        state: 'RUNNING',
        nodes: ['vm'],
        partition: 'debug',
        priority: 4294901756,
        submittedAt: local('2026-12-03T22:18:45'),
        startedAt: local('2026-12-03T22:18:46'),
        timeLimitSeconds: 3600,
      },
    });
    // Waiting for the GPUs, with backfill's estimate; a name with a space and a pipe survives.
    expect(byName.get('aiplane fixture|pending')?.info).toEqual({
      jobId: '1858',
      name: 'aiplane fixture|pending',
      state: 'PENDING',
      nodes: [],
      reason: 'Resources',
      partition: 'debug',
      priority: 4294901752,
      submittedAt: local('2026-12-03T22:18:45'),
      estimatedStart: local('2026-12-03T23:18:46'),
      timeLimitSeconds: 120,
    });
    expect(byName.get('aiplane-fixture-unlimited')?.info).not.toHaveProperty('timeLimitSeconds');
    expect(byName.get('aiplane-fixture-completed')?.info).toMatchObject({
      state: 'COMPLETED',
      timeLimitSeconds: 86_400,
      startedAt: local('2026-12-03T22:18:46'),
    });
    expect(byName.get('aiplane-fixture-failed')?.info).toMatchObject({ state: 'FAILED', exitCode: 3 });

    const pending = lines.map(squeuePendingJob).filter((job) => job !== undefined);
    expect(pending.map((job) => job.jobId)).toEqual(['1858', '1859', '1860']);
    expect(pending[0]).toEqual({ jobId: '1858', partitions: ['debug'], priority: 4294901752 });
  });

  it('reads a pending job leniently: any id, no throw on what it need not understand', () => {
    const fields = (id: string, state: string, priority: string): string =>
      [id, state, '0', '', 'Priority', 'a,b', priority, 'N/A', 'N/A', 'UNLIMITED', 'bob', 'x'].join(
        SQUEUE_DELIMITER,
      );
    expect(squeuePendingJob(fields('5_[1-3]', 'PENDING', '7'))).toEqual({
      jobId: '5_[1-3]',
      partitions: ['a', 'b'],
      priority: 7,
    });
    expect(squeuePendingJob(fields('5', 'RUNNING', '7'))).toBeUndefined();
    expect(squeuePendingJob(fields('5', 'PENDING', 'N/A'))).toBeUndefined();
    expect(squeuePendingJob('garbage')).toBeUndefined();
  });

  it('reads times in the default format as local time, and nothing else', () => {
    expect(parseSlurmTime('2026-12-03T22:18:45')).toBe(local('2026-12-03T22:18:45'));
    for (const raw of ['N/A', 'Unknown', 'None', '', undefined, '12/03-22:18:45', '2026-13-45T99:00:00'])
      expect(parseSlurmTime(raw)).toBeUndefined();
  });

  it("reads sbatch --test-only's start estimate, and nothing from an answer without one", () => {
    const answer =
      'sbatch: Job 3491 to start at 2026-12-04T12:49:50 using 1 processors on nodes vm in partition debug';
    expect(parseTestOnlyStart(answer)).toBe(new Date('2026-12-04T12:49:50').toISOString());
    expect(parseTestOnlyStart('sbatch: error: Batch job submission failed')).toBeUndefined();
    expect(parseTestOnlyStart('sbatch: Job 1 to start at Unknown using 1 processors')).toBeUndefined();
    const now = new Date('2026-12-04T12:00:00').getTime();
    expect(
      parseTestOnlyStart('sbatch: Job 1 to start at 2154-01-01T00:00:00 using 1 processors', now),
    ).toBeUndefined();
  });

  it('reads durations as squeue and scontrol print them', () => {
    expect(parseSlurmDuration('2:00')).toBe(120);
    expect(parseSlurmDuration('00:02:00')).toBe(120);
    expect(parseSlurmDuration('1:00:00')).toBe(3600);
    expect(parseSlurmDuration('1-02:03:04')).toBe(93_784);
    for (const raw of ['UNLIMITED', 'NOT_SET', 'INVALID', 'N/A', '', undefined, '5'])
      expect(parseSlurmDuration(raw)).toBeUndefined();
  });

  it("reads scontrol's queue and timing fields for jobs squeue no longer lists", () => {
    const pending = parseScontrolShowJob(fixture('scontrol-show-job-pending-22.05.txt'));
    expect(pending).toMatchObject({
      state: 'PENDING',
      partition: 'debug',
      priority: 4294901754,
      submittedAt: local('2026-11-27T16:16:08'),
      // Held until its begin time: that is when SLURM expects to start it.
      estimatedStart: local('2026-11-27T17:16:08'),
    });
    expect(pending).not.toHaveProperty('timeLimitSeconds');
    expect(parseScontrolShowJob(fixture('scontrol-show-job-running-22.05.txt'))).toMatchObject({
      state: 'RUNNING',
      startedAt: expect.any(String) as string,
    });
  });
});
