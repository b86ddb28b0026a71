import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecFileCommandRunner, type CommandResult, type CommandRunner } from './command.runner';
import type { JobInfo, SubmitRequest } from './scheduler.types';
import { SlurmScheduler } from './slurm.scheduler';
import { SchedulerError } from './scheduler.errors';

// Real SLURM, no fakes: tools/infra/up.sh (or CI) provides it. Without it these tests fail, loudly.
const JOB_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('SlurmScheduler on real SLURM', () => {
  const runner = new ExecFileCommandRunner();
  const scheduler = new SlurmScheduler(runner);
  const tag = randomBytes(4).toString('hex');
  const submitted: string[] = [];
  let root: string;

  beforeAll(async () => {
    let detail: string;
    try {
      const result = await runner.run('sinfo', ['--noheader', '--format=%T'], { timeoutMs: 10_000 });
      detail = `${result.stdout}${result.stderr}`.trim();
      if (result.exitCode === 0 && /\b(idle|mixed|allocated)\b/.test(result.stdout))
        return void (root = tmp());
    } catch (error) {
      detail = String(error);
    }
    throw new Error(
      `SLURM is not available (sinfo: ${detail || 'no output'}). Start it with \`bash tools/infra/up.sh slurm\`; ` +
        'the integration tests need a real controller and an idle node.',
    );
  });

  afterAll(async () => {
    for (const id of submitted) await scheduler.cancel(id).catch(() => undefined);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  function tmp(): string {
    return mkdtempSync(join(tmpdir(), 'aiplane-slurm-int-'));
  }

  function request(name: string, body: string, env: Record<string, string> = {}): SubmitRequest {
    const jobDir = mkdtempSync(join(root, `${name}-`));
    const jobName = `aiplane-int-${tag}-${name}`;
    return {
      script: [
        '#!/bin/bash',
        `#SBATCH --job-name=${jobName}`,
        `#SBATCH --output=${jobDir}/stdout.log`,
        `#SBATCH --error=${jobDir}/stderr.log`,
        '#SBATCH --gres=gpu:1 --cpus-per-task=1 --mem=100M',
        body,
        '',
      ].join('\n'),
      jobName,
      jobDir,
      stdoutPath: join(jobDir, 'stdout.log'),
      stderrPath: join(jobDir, 'stderr.log'),
      env: { PATH: JOB_PATH, HOME: jobDir, ...env },
    };
  }

  async function submit(req: SubmitRequest): Promise<string> {
    const id = await scheduler.submit(req);
    submitted.push(id);
    return id;
  }

  const stateOf = async (id: string): Promise<JobInfo | undefined> => (await scheduler.query([id])).get(id);

  it('answers ping', async () => {
    await expect(scheduler.ping()).resolves.toBeUndefined();
  });

  it('runs a job with its environment byte-for-byte, finds it by name, cancels it (twice)', async () => {
    const canary = join(tmpdir(), `aiplane-canary-${tag}`);
    const value = `it's "quoted" $(touch ${canary}) \`touch ${canary}\` $HOME \\ ;|&\nsecond line\ttab ünï`;
    const req = request(
      'env',
      'printf "%s" "$AIPLANE_VALUE" > "$HOME/value.txt"; env > "$HOME/env.txt"; sleep 300',
      {
        AIPLANE_VALUE: value,
      },
    );
    const id = await submit(req);
    expect(id).toMatch(/^\d+$/);
    expect(readFileSync(join(req.jobDir, 'job.sh'), 'utf8')).toBe(req.script);

    const running = await until('RUNNING', async () => {
      const info = await stateOf(id);
      return info && info.state !== 'PENDING' && info.state !== 'CONFIGURING' ? info : undefined;
    });
    expect(running).toMatchObject({ jobId: id, name: req.jobName, state: 'RUNNING' });
    expect(running.nodes.length).toBe(1);
    // The same squeue call reads what rollover and the records' timeline need.
    expect(running).toMatchObject({
      partition: expect.any(String) as string,
      priority: expect.any(Number) as number,
      submittedAt: expect.stringMatching(/Z$/) as string,
      startedAt: expect.stringMatching(/Z$/) as string,
    });
    expect(running).not.toHaveProperty('queuePosition');

    const valueFile = join(req.jobDir, 'value.txt');
    // Wait for the whole value; on timeout the assertion below shows what did arrive.
    await until('the job to write its value', () =>
      Promise.resolve(existsSync(valueFile) && readFileSync(valueFile, 'utf8') === value ? true : undefined),
    ).catch(() => undefined);
    expect(readFileSync(valueFile, 'utf8')).toBe(value);
    expect(existsSync(canary)).toBe(false);
    // The job got the environment it was given (plus what SLURM adds), not this process's.
    const jobEnv = readFileSync(join(req.jobDir, 'env.txt'), 'utf8');
    expect(jobEnv).toContain(`SLURM_JOB_ID=${id}\n`);
    expect(jobEnv).not.toMatch(/^JEST_WORKER_ID=/m);
    expect(jobEnv).toMatch(/^CUDA_VISIBLE_DEVICES=\d/m);

    expect(await scheduler.findByName(req.jobName)).toMatchObject({ jobId: id, state: 'RUNNING' });
    // A restarted worker finds its jobs by prefix and tells them apart by their working directory.
    const listed = await scheduler.listByNamePrefix(`aiplane-int-${tag}-`);
    expect(listed.find((job) => job.jobId === id)).toMatchObject({
      name: req.jobName,
      state: 'RUNNING',
      workDir: req.jobDir,
    });

    await scheduler.cancel(id);
    const cancelled = await until('CANCELLED', async () => {
      const info = await stateOf(id);
      return info?.state === 'CANCELLED' ? info : undefined;
    });
    expect(cancelled).toMatchObject({ jobId: id, name: req.jobName });
    await expect(scheduler.cancel(id)).resolves.toBeUndefined();
    // Once SLURM purges it, its completion log (jobcomp/filetxt here) still says how it ended.
    const finished = await until('the jobcomp line', () => scheduler.finishedJob(id, req.jobDir));
    expect(finished).toMatchObject({ jobId: id, name: req.jobName, state: 'CANCELLED' });
    expect(await scheduler.finishedJob(id, `${req.jobDir}-not-this-one`)).toBeUndefined();
    expect(existsSync(canary)).toBe(false);
  });

  it('reports a failing job as FAILED with its exit code, through squeue and through scontrol', async () => {
    const req = request('fail', 'echo oops >&2; exit 3');
    const id = await submit(req);
    const failed = await until('FAILED', async () => {
      const info = await stateOf(id);
      return info?.state === 'FAILED' ? info : undefined;
    });
    expect(failed).toMatchObject({ jobId: id, name: req.jobName, exitCode: 3, reason: 'NonZeroExitCode' });
    expect(readFileSync(req.stderrPath, 'utf8')).toBe('oops\n');

    // Once squeue stops listing a finished job, the adapter asks scontrol: hide squeue's answer.
    const calls: string[] = [];
    const blindSqueue: CommandRunner = {
      run: async (command, args, options): Promise<CommandResult> => {
        calls.push(command);
        const result = await runner.run(command, args, options);
        return command === 'squeue' ? { ...result, stdout: '' } : result;
      },
    };
    const viaScontrol = await new SlurmScheduler(blindSqueue).query([id]);
    expect(calls).toEqual(['squeue', 'scontrol']);
    expect(viaScontrol.get(id)).toEqual(failed);
  });

  it("estimates a successor's start with sbatch --test-only, submitting nothing: now while the node has room, this job's end once it is full", async () => {
    // What a rollover sees on this one-node cluster (4 GPUs): a job holding two of them, then its
    // successor holding the other two.
    const twoGpus = (name: string): SubmitRequest => {
      const req = request(name, 'sleep 300');
      return { ...req, script: req.script.replace('--gres=gpu:1', '--gres=gpu:2 --time=3') };
    };
    const current = twoGpus('estimate');
    const id = await submit(current);
    const running = await until('RUNNING', async () => {
      const info = await stateOf(id);
      return info?.state === 'RUNNING' ? info : undefined;
    });
    // This test's jobs only: another test's job may end (and be purged) meanwhile.
    const ids = async (): Promise<string[]> =>
      (await scheduler.listByNamePrefix(`aiplane-int-${tag}-estimate`)).map((job) => job.jobId).sort();
    const before = await ids();

    const roomy = await scheduler.estimateStart(current.jobDir);
    expect(Math.abs(Date.parse(roomy ?? '') - Date.now())).toBeLessThan(5_000);
    expect(await ids()).toEqual(before);
    expect(before).toEqual([id]);

    const successor = await submit(twoGpus('estimate-next'));
    await until('the successor RUNNING', async () =>
      (await stateOf(successor))?.state === 'RUNNING' ? true : undefined,
    );
    const full = await scheduler.estimateStart(current.jobDir);
    // SLURM lets the running jobs end, soonest first (several at once within its 30 s window): the
    // first that frees two GPUs is this job, so the answer is this job's end or later.
    const end = Date.parse(running.startedAt ?? '') + 3 * 60_000;
    expect(Date.parse(full ?? '')).toBeGreaterThanOrEqual(end);
    expect(Date.parse(full ?? '')).toBeLessThanOrEqual(end + 60_000);

    await expect(scheduler.estimateStart('relative/dir')).rejects.toMatchObject({ code: 'REJECTED' });
    const none = await scheduler.estimateStart(join(root, 'no-such-job')).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(SchedulerError);
    await scheduler.cancel(successor);
    await scheduler.cancel(id);
  });

  it('leaves ids SLURM never had out of the answer, and cancels them without complaint', async () => {
    const neverId = '2147483000';
    const result = await scheduler.query([neverId]);
    expect(result.has(neverId)).toBe(false);
    await expect(scheduler.cancel(neverId)).resolves.toBeUndefined();
    await expect(scheduler.findByName(`aiplane-int-${tag}-never`)).resolves.toBeUndefined();
  });

  it('reports a submission SLURM refuses as REJECTED with its reason', async () => {
    const req = request('rejected', 'true');
    req.script = req.script.replace(
      '#!/bin/bash\n',
      '#!/bin/bash\n#SBATCH --partition=aiplane-no-such-partition\n',
    );
    const error = await scheduler.submit(req).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchedulerError);
    expect(error).toMatchObject({
      code: 'REJECTED',
      message: expect.stringMatching(/partition/i) as unknown,
    });
  });
});
