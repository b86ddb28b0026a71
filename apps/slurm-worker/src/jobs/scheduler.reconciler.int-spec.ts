import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { Redis } from 'ioredis';
import { schedulerJobName } from '@aiplane/contracts';
import { createBullConnection, SchedulerQueueClient } from '@aiplane/jobs';
import { ServiceRegistry } from '@aiplane/registry';
import { ExecFileCommandRunner, SlurmScheduler } from '@aiplane/scheduler';
import { createLogger } from '@aiplane/server-kit';
import { baseEnv, makeStateDir, slurmJobsUnder } from '@aiplane/testing';
import { AppModule } from '../app.module';
import { loadSlurmWorkerConfig } from '../slurm-worker.config';
import { SchedulerReconciler } from './scheduler.reconciler';

// Real SLURM (tools/infra/up.sh) and a Redis of this test's own, started here: FLUSHDB must never
// reach the shared one.

const SBATCH = '/usr/bin/sbatch';
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

async function until(
  condition: () => boolean | Promise<boolean>,
  { timeoutMs, intervalMs }: { timeoutMs: number; intervalMs: number },
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        resolve(typeof address === 'object' && address ? address.port : 0);
      });
    });
  });
}

interface PrivateRedis {
  url: string;
  process: ChildProcess;
  client: Redis;
}

async function startRedis(dir: string): Promise<PrivateRedis> {
  const port = await freePort();
  const password = randomBytes(16).toString('hex');
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--requirepass',
      password,
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    { stdio: 'ignore' },
  );
  const url = `redis://:${password}@127.0.0.1:${port}`;
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await until(
    async () => {
      try {
        if (client.status !== 'ready') await client.connect();
        await client.ping();
        return true;
      } catch {
        client.disconnect();
        return false;
      }
    },
    { timeoutMs: 10_000, intervalMs: 100 },
  );
  return { url, process: child, client };
}

/** Log lines a worker wrote, as parsed JSON. */
function logSink(): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { stream, lines };
}

describe('slurm-worker reconciliation on real SLURM', () => {
  let work: string;
  let redis: PrivateRedis;
  const runner = new ExecFileCommandRunner();
  const slurm = new SlurmScheduler(runner);
  const apps: INestApplicationContext[] = [];
  const stateDirs: string[] = [];

  beforeAll(async () => {
    work = mkdtempSync(path.join('/tmp', 'aiplane-reconcile-int-'));
    redis = await startRedis(work);
  });

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    for (const dir of stateDirs.splice(0)) {
      for (const job of slurmJobsUnder(dir)) await slurm.cancel(job.id).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  afterAll(() => {
    redis.client.disconnect();
    redis.process.kill('SIGTERM');
    rmSync(work, { recursive: true, force: true });
  });

  function workerConfig(stateDir: string, env: Record<string, string> = {}) {
    return loadSlurmWorkerConfig({
      SCHEDULER: 'slurm',
      REDIS_URL: redis.url,
      REDIS_PREFIX: `reconcile-int-${randomBytes(4).toString('hex')}`,
      STATE_DIR: stateDir,
      POLL_INTERVAL_MS: '60000',
      LOG_LEVEL: 'info',
      ...env,
    });
  }

  async function startWorker(config: ReturnType<typeof workerConfig>) {
    const logs = logSink();
    const app = await NestFactory.createApplicationContext(
      AppModule.forRoot(config, createLogger('slurm-worker', 'info', logs.stream)),
      { logger: false },
    );
    apps.push(app);
    await app.init();
    // The queue is consumed only after the start-up reconciliation.
    await until(() => logs.lines.some((line) => line.msg === 'slurm-worker consuming the scheduler queue'), {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    return { app, logs, registry: app.get(ServiceRegistry), reconciler: app.get(SchedulerReconciler) };
  }

  function newStateDir(): string {
    const dir = makeStateDir('reconcile-int');
    stateDirs.push(dir);
    return dir;
  }

  it('an sbatch that is accepted but reports a timeout leaves exactly one job, the recorded one', async () => {
    // sbatch as a slurmctld under load behaves: the job is accepted, the client gives up waiting.
    const bin = path.join(work, 'bin-timeout');
    mkdirSync(bin);
    writeFileSync(
      path.join(bin, 'sbatch'),
      [
        '#!/bin/bash',
        `${SBATCH} "$@" >/dev/null || exit $?`,
        'echo "sbatch: error: Batch job submission failed: Socket timed out on send/recv operation" >&2',
        'exit 1',
        '',
      ].join('\n'),
    );
    chmodSync(path.join(bin, 'sbatch'), 0o755);
    const stateDir = newStateDir();
    const config = workerConfig(stateDir, { PATH: `${bin}:${SYSTEM_PATH}` });
    const { registry } = await startWorker(config);

    const submissionId = randomBytes(16).toString('hex');
    await registry.createSubmission({
      id: submissionId,
      recipe_name: 'inference/vllm-single-node',
      config: { resources: { gpu: 0, cpu: '1', memory: '1G', time_limit: 5 } },
      request_id: 'reconcile-int-race',
      created_at: new Date().toISOString(),
    });
    const connection = createBullConnection(redis.url);
    const client = new SchedulerQueueClient(connection, `${config.REDIS_PREFIX}:bull`);
    try {
      await client.ready();
      const { serviceId } = await client.submit({ submissionId, requestId: 'reconcile-int-race' }, 60_000);

      const jobs = slurmJobsUnder(stateDir).filter((job) => job.name === schedulerJobName(submissionId));
      expect(jobs.map((job) => job.id)).toEqual([serviceId]);
      expect((await registry.get(serviceId))?.submission_id).toBe(submissionId);
    } finally {
      await client.close();
      connection.disconnect();
    }
  });

  it('a late-accepted duplicate is found by the periodic pass and cancelled; the recorded job stays', async () => {
    // The first sbatch hands the job to a controller that registers it only seconds later, after
    // the retry has found nothing and submitted again.
    const bin = path.join(work, 'bin-late');
    mkdirSync(bin);
    const marker = path.join(work, 'late-once');
    writeFileSync(
      path.join(bin, 'sbatch'),
      [
        '#!/bin/bash',
        `if mkdir ${marker} 2>/dev/null; then`,
        `  (sleep 3; ${SBATCH} "$@" >/dev/null 2>&1) </dev/null >/dev/null 2>&1 &`,
        '  echo "sbatch: error: Batch job submission failed: Socket timed out on send/recv operation" >&2',
        '  exit 1',
        'fi',
        `exec ${SBATCH} "$@"`,
        '',
      ].join('\n'),
    );
    chmodSync(path.join(bin, 'sbatch'), 0o755);
    const stateDir = newStateDir();
    const config = workerConfig(stateDir, { PATH: `${bin}:${SYSTEM_PATH}`, RECONCILE_INTERVAL_MS: '1000' });
    const { registry } = await startWorker(config);

    const submissionId = randomBytes(16).toString('hex');
    await registry.createSubmission({
      id: submissionId,
      recipe_name: 'inference/vllm-single-node',
      config: { resources: { gpu: 0, cpu: '1', memory: '1G', time_limit: 5 } },
      request_id: 'reconcile-int-late',
      created_at: new Date().toISOString(),
    });
    const connection = createBullConnection(redis.url);
    const client = new SchedulerQueueClient(connection, `${config.REDIS_PREFIX}:bull`);
    try {
      await client.ready();
      const { serviceId } = await client.submit({ submissionId, requestId: 'reconcile-int-late' }, 60_000);
      const named = () =>
        slurmJobsUnder(stateDir).filter((job) => job.name === schedulerJobName(submissionId));

      // The late one arrives, then the periodic pass cancels it.
      await until(() => named().length === 2, { timeoutMs: 20_000, intervalMs: 200 });
      await until(() => named().some((job) => job.id !== serviceId && job.state === 'CANCELLED'), {
        timeoutMs: 20_000,
        intervalMs: 200,
      });
      const recorded = named().find((job) => job.id === serviceId);
      expect(recorded?.state).not.toBe('CANCELLED');
      expect((await registry.get(serviceId))?.submission_id).toBe(submissionId);
    } finally {
      await client.close();
      connection.disconnect();
    }
  });

  it('a flushed Redis does not make a restarted worker cancel the running jobs: they are kept and reported', async () => {
    const stateDir = newStateDir();
    const config = workerConfig(stateDir);
    const first = await startWorker(config);
    // Three running jobs of this deployment, recorded: as the worker adopts jobs of a submission.
    const ids: string[] = [];
    for (let index = 0; index < 3; index += 1) {
      const submissionId = randomBytes(16).toString('hex');
      await first.registry.createSubmission({
        id: submissionId,
        recipe_name: 'inference/vllm-single-node',
        config: { resources: { gpu: 0, cpu: '1', memory: '100M', time_limit: 5 } },
        request_id: 'reconcile-int-flush',
        created_at: new Date().toISOString(),
      });
      const jobDir = path.join(stateDir, 'jobs', submissionId);
      mkdirSync(jobDir, { recursive: true, mode: 0o700 });
      const jobName = schedulerJobName(submissionId);
      ids.push(
        await slurm.submit({
          script: [
            '#!/bin/bash',
            `#SBATCH --job-name=${jobName}`,
            `#SBATCH --output=${jobDir}/stdout.log`,
            `#SBATCH --error=${jobDir}/stderr.log`,
            '#SBATCH --cpus-per-task=1 --mem=100M --time=5',
            'sleep 300',
            '',
          ].join('\n'),
          jobName,
          jobDir,
          stdoutPath: path.join(jobDir, 'stdout.log'),
          stderrPath: path.join(jobDir, 'stderr.log'),
          env: baseEnv(),
        }),
      );
    }
    const adopted = await first.reconciler.reconcile(() => Promise.resolve(false));
    expect([...adopted.adopted].sort()).toEqual([...ids].sort());
    await apps.splice(0).reduce((done, app) => done.then(() => app.close()), Promise.resolve());

    await redis.client.flushdb();
    const second = await startWorker(config);
    const messages = second.logs.lines.map((line) => line.msg);
    // The start-up pass ran before anything was taken from the queue.
    expect(messages.indexOf('reconciled with the scheduler')).toBeGreaterThanOrEqual(0);
    expect(messages.indexOf('reconciled with the scheduler')).toBeLessThan(
      messages.indexOf('slurm-worker consuming the scheduler queue'),
    );

    const live = slurmJobsUnder(stateDir).filter((job) => ids.includes(job.id));
    expect(
      live.map((job) => job.state).filter((state) => state !== 'PENDING' && state !== 'RUNNING'),
    ).toEqual([]);
    expect(live).toHaveLength(3);
    const alarm = second.logs.lines.find(
      (line) => typeof line.msg === 'string' && line.msg.includes('have no record and no submission'),
    );
    expect(alarm?.job_ids).toEqual(expect.arrayContaining(ids));
    expect((await second.reconciler.reconcile(() => Promise.resolve(false))).orphaned.sort()).toEqual(
      [...ids].sort(),
    );
  });
});
