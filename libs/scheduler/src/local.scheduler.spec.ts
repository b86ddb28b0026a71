import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTerminalJobState } from '@aiplane/contracts';
import { LocalScheduler } from './local.scheduler';
import type { JobInfo, SubmitRequest } from './scheduler.types';

const BASE_ENV = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/tmp' };
const TRICKY = `it's "quoted" $(touch CANARY) \`id\` $HOME \\ back\nsecond line\ttab ünï`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie waiting to be reaped is not running.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('LocalScheduler', () => {
  let root: string;
  let stateDir: string;
  let counter = 0;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'aiplane-local-spec-'));
    stateDir = join(root, 'state');
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  function request(
    body: string,
    env: Record<string, string> = {},
    jobName = `job-${++counter}`,
  ): SubmitRequest {
    const jobDir = join(root, 'jobs', jobName + String(counter));
    mkdirSync(jobDir, { recursive: true });
    return {
      script: `#!/bin/bash\n#SBATCH --job-name=${jobName}\n${body}\n`,
      jobName,
      jobDir,
      stdoutPath: join(jobDir, 'stdout.log'),
      stderrPath: join(jobDir, 'stderr.log'),
      env: { ...BASE_ENV, ...env },
    };
  }

  const finished = (scheduler: LocalScheduler, id: string): Promise<JobInfo> =>
    until(`job ${id} to finish`, async () => {
      const info = (await scheduler.query([id])).get(id);
      return info && isTerminalJobState(info.state) ? info : undefined;
    });

  const record = (id: string): { pid: number; cancelled: boolean; name: string; jobDir: string } =>
    JSON.parse(readFileSync(join(stateDir, 'local-jobs', id, 'job.json'), 'utf8')) as {
      pid: number;
      cancelled: boolean;
      name: string;
      jobDir: string;
    };

  it('passes every environment value to the script byte-for-byte, never through a shell', async () => {
    const scheduler = new LocalScheduler({ stateDir });
    const req = request(
      'printf "%s" "$VALUE"; printf "|%s|%s|%s" "$SLURM_JOB_ID" "$SLURM_JOB_NAME" "$SLURMD_NODENAME" >&2',
      {
        VALUE: TRICKY,
      },
    );
    const id = await scheduler.submit(req);

    const info = await finished(scheduler, id);
    expect(info).toEqual({
      jobId: id,
      name: req.jobName,
      state: 'COMPLETED',
      nodes: ['localhost'],
      exitCode: 0,
      // Started when submitted: no queue, so no position or estimate, and no time limit enforced.
      submittedAt: expect.any(String) as string,
      startedAt: info.submittedAt,
    });
    expect(readFileSync(req.stdoutPath, 'utf8')).toBe(TRICKY);
    expect(readFileSync(req.stderrPath, 'utf8')).toBe(`|${id}|${req.jobName}|localhost`);
    expect(existsSync(join(req.jobDir, 'CANARY'))).toBe(false);
    expect(readFileSync(join(req.jobDir, 'job.sh'), 'utf8')).toBe(req.script);
  });

  it('gives the job only the environment it was given, and the job dir as working directory', async () => {
    const scheduler = new LocalScheduler({ stateDir });
    const req = request('env | cut -d= -f1 | sort | tr "\\n" " "; echo; pwd');
    const id = await scheduler.submit(req);
    await finished(scheduler, id);
    const [names = '', cwd] = readFileSync(req.stdoutPath, 'utf8').split('\n');
    const vars = names.trim().split(' ');
    expect(vars).toEqual(
      expect.arrayContaining(['HOME', 'PATH', 'SLURM_JOB_ID', 'SLURM_JOB_NAME', 'SLURMD_NODENAME']),
    );
    // bash adds PWD, SHLVL and _ itself, the scheduler the job's marker; nothing else may appear.
    expect(
      vars.filter(
        (v) =>
          ![
            'AIPLANE_LOCAL_JOB',
            'HOME',
            'PATH',
            'SLURM_JOB_ID',
            'SLURM_JOB_NAME',
            'SLURMD_NODENAME',
            'PWD',
            'SHLVL',
            '_',
            'OLDPWD',
          ].includes(v),
      ),
    ).toEqual([]);
    expect(cwd).toBe(req.jobDir);
  });

  it('reports a failing script as FAILED with its exit code', async () => {
    const scheduler = new LocalScheduler({ stateDir });
    const req = request('echo oops >&2; exit 7');
    const id = await scheduler.submit(req);
    expect(await finished(scheduler, id)).toMatchObject({
      state: 'FAILED',
      exitCode: 7,
      reason: 'NonZeroExitCode',
    });
    expect(readFileSync(req.stderrPath, 'utf8')).toBe('oops\n');
  });

  it('appends to existing log files, as SLURM does with --open-mode=append', async () => {
    const scheduler = new LocalScheduler({ stateDir });
    const req = request('echo second');
    writeFileSync(req.stdoutPath, 'first\n');
    await finished(scheduler, await scheduler.submit(req));
    expect(readFileSync(req.stdoutPath, 'utf8')).toBe('first\nsecond\n');
  });

  it('cancels a running job: CANCELLED, its whole process group gone, cancel again resolves', async () => {
    const scheduler = new LocalScheduler({ stateDir });
    const req = request('sleep 300 & echo $! > child.pid; wait');
    const id = await scheduler.submit(req);
    const childPid = await until('the child pid', () => {
      const text = existsSync(join(req.jobDir, 'child.pid'))
        ? readFileSync(join(req.jobDir, 'child.pid'), 'utf8')
        : '';
      return Promise.resolve(text.endsWith('\n') ? Number(text) : undefined);
    });
    expect((await scheduler.query([id])).get(id)?.state).toBe('RUNNING');

    await scheduler.cancel(id);

    expect((await scheduler.query([id])).get(id)).toEqual({
      jobId: id,
      name: req.jobName,
      state: 'CANCELLED',
      nodes: ['localhost'],
      submittedAt: expect.any(String) as string,
      startedAt: expect.any(String) as string,
    });
    expect(alive(record(id).pid)).toBe(false);
    expect(alive(childPid)).toBe(false);
    await expect(scheduler.cancel(id)).resolves.toBeUndefined();
    expect((await scheduler.query([id])).get(id)?.state).toBe('CANCELLED');
  });

  it('kills a job that ignores SIGTERM once the grace period is over', async () => {
    const scheduler = new LocalScheduler({ stateDir, killGraceMs: 300 });
    const req = request('trap "" TERM; echo ready; while true; do sleep 0.05; done');
    const id = await scheduler.submit(req);
    await until('the job to start', () =>
      Promise.resolve(
        existsSync(req.stdoutPath) && readFileSync(req.stdoutPath, 'utf8') === 'ready\n' ? true : undefined,
      ),
    );
    const started = Date.now();
    await scheduler.cancel(id);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(alive(record(id).pid)).toBe(false);
    expect((await scheduler.query([id])).get(id)?.state).toBe('CANCELLED');
  });

  it('leaves a finished job as it ended when cancelled, and resolves for unknown ids', async () => {
    const scheduler = new LocalScheduler({ stateDir });
    const id = await scheduler.submit(request('true'));
    await finished(scheduler, id);
    await scheduler.cancel(id);
    expect((await scheduler.query([id])).get(id)?.state).toBe('COMPLETED');
    expect(record(id).cancelled).toBe(false);
    await expect(scheduler.cancel('999999')).resolves.toBeUndefined();
    await expect(scheduler.cancel('not-an-id')).resolves.toBeUndefined();
  });

  it("ends what the script left running when it exits, as SLURM ends a job's processes", async () => {
    const scheduler = new LocalScheduler({ stateDir });
    const req = request('sleep 300 & echo $! > child.pid; exit 0');
    const id = await scheduler.submit(req);
    expect((await finished(scheduler, id)).state).toBe('COMPLETED');
    const childPid = Number(readFileSync(join(req.jobDir, 'child.pid'), 'utf8'));
    // The TERM is sent before the status is written, but delivery is asynchronous.
    await until(
      'the leftover child to die',
      () => Promise.resolve(alive(childPid) ? undefined : true),
      5_000,
    );
  });

  // Issue 11 item 8: a double-forked child in a session of its own is outside the job's process
  // group and reparented; one that ignores SIGTERM needs the SIGKILL. The marker finds it.
  const ORPHAN = `(setsid bash -c 'trap "" TERM; echo $$ > orphan.pid; exec sleep 300' &)`;
  const orphanPid = (req: SubmitRequest): Promise<number> =>
    until('the orphan pid', () => {
      const file = join(req.jobDir, 'orphan.pid');
      const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
      return Promise.resolve(text.endsWith('\n') ? Number(text) : undefined);
    });

  it('cancel also kills a double-forked child that left the process group and ignores SIGTERM', async () => {
    const scheduler = new LocalScheduler({ stateDir, killGraceMs: 300 });
    const req = request(`${ORPHAN}; sleep 300`);
    const id = await scheduler.submit(req);
    const orphan = await orphanPid(req);
    expect(alive(orphan)).toBe(true);

    await scheduler.cancel(id);

    expect(alive(orphan)).toBe(false);
    expect((await scheduler.query([id])).get(id)?.state).toBe('CANCELLED');
  });

  it('kills such a child when the script exits by itself, before the status says the job is over', async () => {
    const scheduler = new LocalScheduler({ stateDir, killGraceMs: 300 });
    const req = request(`${ORPHAN}; until [ -s orphan.pid ]; do sleep 0.05; done; exit 0`);
    const id = await scheduler.submit(req);
    expect((await finished(scheduler, id)).state).toBe('COMPLETED');
    expect(alive(await orphanPid(req))).toBe(false);
  });

  it('cancelling a job whose wrapper was killed from outside still ends what it started', async () => {
    const scheduler = new LocalScheduler({ stateDir, killGraceMs: 300 });
    const req = request(`${ORPHAN}; sleep 300`);
    const id = await scheduler.submit(req);
    const orphan = await orphanPid(req);
    process.kill(-record(id).pid, 'SIGKILL');
    await until('the wrapper to die', () => Promise.resolve(alive(record(id).pid) ? undefined : true));
    expect(alive(orphan)).toBe(true);

    await scheduler.cancel(id);

    expect(alive(orphan)).toBe(false);
  });

  it('hands out monotonically increasing ids from 1000, also to concurrent submitters', async () => {
    const a = new LocalScheduler({ stateDir });
    const b = new LocalScheduler({ stateDir });
    const first = await a.submit(request('true'));
    expect(first).toBe('1000');
    const ids = await Promise.all(
      Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).submit(request('true'))),
    );
    const all = [first, ...ids].map(Number);
    expect(new Set(all).size).toBe(all.length);
    const next = Number(await b.submit(request('true')));
    expect(next).toBeGreaterThan(Math.max(...all));
    await Promise.all([...all, next].map((id) => finished(a, String(id))));
  });

  it('does not reuse ids when the counter file is lost', async () => {
    const scheduler = new LocalScheduler({ stateDir });
    await scheduler.submit(request('true'));
    await scheduler.submit(request('true'));
    rmSync(join(stateDir, 'local-jobs', 'next-id'));
    expect(await new LocalScheduler({ stateDir }).submit(request('true'))).toBe('1002');
  });

  it('lets a new instance on the same state dir see and control the old jobs', async () => {
    const before = new LocalScheduler({ stateDir });
    const done = request('echo done', {}, 'aiplane-done');
    const running = request('sleep 300', {}, 'aiplane-running');
    const doneId = await before.submit(done);
    const runningId = await before.submit(running);
    await finished(before, doneId);

    const after = new LocalScheduler({ stateDir });
    const result = await after.query([doneId, runningId, '4242']);
    expect(result.get(doneId)).toMatchObject({ state: 'COMPLETED', name: 'aiplane-done' });
    expect(result.get(runningId)).toMatchObject({ state: 'RUNNING', name: 'aiplane-running' });
    expect(result.has('4242')).toBe(false);
    expect(await after.findByName('aiplane-running')).toMatchObject({ jobId: runningId, state: 'RUNNING' });
    expect(await after.findByName('aiplane-nothing')).toBeUndefined();

    await after.cancel(runningId);
    expect((await before.query([runningId])).get(runningId)?.state).toBe('CANCELLED');
    expect(record(runningId)).toMatchObject({
      cancelled: true,
      name: 'aiplane-running',
      jobDir: running.jobDir,
    });
  });

  it('has no start estimate: its jobs start when submitted', async () => {
    const scheduler = new LocalScheduler({ stateDir });
    const req = request('true');
    await finished(scheduler, await scheduler.submit(req));
    await expect(scheduler.estimateStart(req.jobDir)).resolves.toBeUndefined();
  });

  it('findByName returns the newest job carrying the name', async () => {
    const scheduler = new LocalScheduler({ stateDir });
    const first = await scheduler.submit(request('exit 1', {}, 'aiplane-same'));
    const second = await scheduler.submit(request('true', {}, 'aiplane-same'));
    await finished(scheduler, first);
    await finished(scheduler, second);
    expect(await scheduler.findByName('aiplane-same')).toMatchObject({ jobId: second, state: 'COMPLETED' });
  });

  it('listByNamePrefix lists the jobs whose name starts with the prefix, with their directories', async () => {
    const scheduler = new LocalScheduler({ stateDir });
    const owned = request('sleep 300', {}, 'aiplane-owned');
    const ownedId = await scheduler.submit(owned);
    const doneId = await scheduler.submit(request('true', {}, 'aiplane-done'));
    await scheduler.submit(request('true', {}, 'someone-else'));
    await finished(scheduler, doneId);

    const listed = await scheduler.listByNamePrefix('aiplane-');
    expect(listed.map((job) => job.jobId).sort()).toEqual([ownedId, doneId].sort());
    expect(listed.find((job) => job.jobId === ownedId)).toMatchObject({
      name: 'aiplane-owned',
      state: 'RUNNING',
      workDir: owned.jobDir,
    });
    expect(listed.find((job) => job.jobId === doneId)?.state).toBe('COMPLETED');
    await scheduler.cancel(ownedId);
  });

  it('reports a job whose process vanished without a status as FAILED, also when its pid was reused', async () => {
    const scheduler = new LocalScheduler({ stateDir });
    const id = await scheduler.submit(request('sleep 300'));
    const { pid } = record(id);
    process.kill(-pid, 'SIGKILL');
    await until('the process to die', () => Promise.resolve(alive(pid) ? undefined : true));
    expect((await scheduler.query([id])).get(id)).toMatchObject({
      state: 'FAILED',
      reason: 'ProcessVanished',
    });

    // This test process stands in for an unrelated process that got the pid after a reboot.
    const file = join(stateDir, 'local-jobs', id, 'job.json');
    writeFileSync(file, JSON.stringify({ ...record(id), pid: process.pid }));
    expect((await scheduler.query([id])).get(id)?.state).toBe('FAILED');
    await scheduler.cancel(id);
    expect(alive(process.pid)).toBe(true);
  });

  it('reports a script it cannot start as UNAVAILABLE and records the job as failed', async () => {
    const scheduler = new LocalScheduler({ stateDir, bashPath: join(root, 'no-such-bash') });
    await expect(scheduler.submit(request('true'))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect((await scheduler.query(['1000'])).get('1000')).toMatchObject({ state: 'FAILED', exitCode: 127 });
  });

  it('reports a malformed job record as PARSE, naming its file', async () => {
    const scheduler = new LocalScheduler({ stateDir });
    const id = await scheduler.submit(request('sleep 300'));
    const file = join(stateDir, 'local-jobs', id, 'job.json');
    const { pid } = record(id);
    try {
      writeFileSync(file, JSON.stringify({ ...record(id), pid: undefined }));
      await expect(scheduler.query([id])).rejects.toMatchObject({
        code: 'PARSE',
        message: expect.stringMatching(new RegExp(`${file}.*pid`)),
      });
      writeFileSync(file, 'garbage');
      await expect(scheduler.query([id])).rejects.toMatchObject({
        code: 'PARSE',
        message: expect.stringContaining(file),
      });
    } finally {
      process.kill(-pid, 'SIGKILL');
    }
  });

  it('ping resolves on a writable state dir', async () => {
    await expect(new LocalScheduler({ stateDir }).ping()).resolves.toBeUndefined();
  });

  it('never writes a job log through a planted symlink: the submit is refused and the target untouched', async () => {
    const scheduler = new LocalScheduler({ stateDir });
    const req = request('echo ran');
    const target = join(root, 'bashrc');
    writeFileSync(target, 'original\n');
    symlinkSync(target, req.stdoutPath);

    await expect(scheduler.submit(req)).rejects.toMatchObject({ code: 'REJECTED' });
    expect(readFileSync(target, 'utf8')).toBe('original\n');
  });
});
