import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Redis } from 'ioredis';
import { DOCUMENT_CREATE_REQUESTS, DOCUMENT_EXAMPLES_VLLM_REFUSES } from '@aiplane/contracts';
import { createRedis, ServiceRegistry } from '@aiplane/registry';
import { ExecFileCommandRunner, SlurmScheduler } from '@aiplane/scheduler';
import {
  apiClient,
  baseEnv,
  listenerPid,
  readInfra,
  ROOT,
  slurmConfPath,
  slurmJobsUnder,
  waitUntil,
  withStack,
  type ApiResponse,
  type SlurmJob,
} from '@aiplane/testing';
import { childRunning, PrivateRedis, PrivateSshd, sleep, SlurmController } from './support/faults';

/*
 * Faults on the real stack: gateway → SSH tunnel → orchestrator → BullMQ → slurm-worker → real
 * SLURM. Each scenario breaks one thing and checks the promises of docs/reliability.md: no record
 * is lost, no job is duplicated (SLURM's own list is compared with the records), a client gets a
 * clear 5xx quickly while a dependency is away, and everything recovers without help.
 *
 * It breaks its own Redis (AOF on, killed with SIGKILL) and its own sshd, so that the shared ones
 * keep serving whatever else runs on this machine, and it stops the machine's real slurmctld for
 * 30 s (the e2e tier runs one suite at a time, so nothing else is using it then).
 *
 * A replica killed under load is tests/e2e/replica-failover.e2e-spec.ts; it is not repeated here.
 *
 * Scenarios are independent: each starts on a healthy stack (beforeEach waits for one) and
 * afterEach brings back whatever a failed scenario left down, so one failure never fails the
 * next. `npm test` runs this file twice: in written order, then shuffled (`--randomize`; the
 * seed is printed, and `--seed=<n>` replays an order).
 */

const PORTS = { gateway: 18801, orchestrator: 18800 };
const PROBE_MS = 500;
const POLL_MS = 500;
const SLURMCTLD_OUTAGE_MS = 30_000;
/** How long a client may wait for an answer while something is down (the gateway's own timeout is 30 s). */
const FAST_FAILURE_MS = 2_000;

// Small CPU-only services: GPUs are the one resource other suites may be holding.
const CPU_SERVICE = {
  recipe_name: 'inference/vllm-single-node',
  config: { resources: { gpu: 0, cpu: '1', memory: '1G', time_limit: 30 } },
};
const TWO_REPLICAS = {
  recipe_name: 'inference/vllm-replicas',
  config: { gpu_per_replica: 1, resources: { gpu: 2, cpu: '2', memory: '2G', time_limit: 30 } },
};

interface ServiceView {
  id: string;
  status: string;
  job_id: string;
  endpoint: string | null;
}
interface GroupStatus {
  overall_status: string;
  healthy_replicas: number;
  replica_statuses: { id: string; status: string; endpoint: string | null; healthy: boolean }[];
}
/** What each scenario measured; printed at the end and written to tmp/ for docs/reliability.md. */
const observed: Record<string, number | string | boolean> = {};

function ms(since: number): number {
  return Math.round(performance.now() - since);
}

async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await run();
  return { ms: ms(started), value };
}

describe('faults on the real stack (SLURM via the SSH tunnel)', () => {
  let workDir: string;
  let redis: PrivateRedis;
  let sshd: PrivateSshd;
  const slurmctld = SlurmController.fromConf(slurmConfPath());
  let store: Redis;
  let registry: ServiceRegistry;
  const slurm = new SlurmScheduler(new ExecFileCommandRunner());
  /** Jobs this test submits itself, playing a crashed worker or another deployment. */
  const ownJobs: string[] = [];
  /** Jobs that exist without a record on purpose (cancelled orphans); the consistency check allows them. */
  const unrecordedOnPurpose = new Set<string>();
  /** The long-lived service the scenarios keep prompting. */
  let steady = '';

  // Its own Redis and sshd, which the scenarios kill; the machine's keep serving everything else.
  beforeAll(async () => {
    workDir = mkdtempSync(path.join(os.tmpdir(), 'aiplane-faults-infra-'));
    redis = await PrivateRedis.start(path.join(workDir, 'redis'));
    sshd = await PrivateSshd.start(path.join(workDir, 'sshd'), readInfra().ssh.keyPath);
  });

  const suite = withStack(() => ({
    label: 'faults',
    scheduler: 'slurm',
    ports: PORTS,
    redisUrl: redis.url,
    ssh: { ...readInfra().ssh, port: sshd.port, knownHostsPath: sshd.knownHostsPath },
    pollIntervalMs: POLL_MS,
    probeIntervalMs: PROBE_MS,
  }));
  const { api } = suite;

  beforeAll(async () => {
    store = createRedis(redis.url);
    registry = new ServiceRegistry(store, suite.redisPrefix);
    await ensureSteady();
    await expectSlurmMatchesRecords();
  });

  beforeEach(async () => {
    await healthy();
  });

  afterEach(async () => {
    await heal();
  });

  // After withStack's own teardown (hooks run in the order they are declared).
  afterAll(async () => {
    // A failed scenario must never leave the next suite without a controller.
    await slurmctld.start();
    for (const id of ownJobs) await slurm.cancel(id).catch(() => undefined);
    store.disconnect();
    await redis.stop();
    await sshd.stop();
    rmSync(workDir, { recursive: true, force: true });
    const report = path.join(ROOT, 'tmp', 'faults-observed.json');
    mkdirSync(path.dirname(report), { recursive: true });
    writeFileSync(report, `${JSON.stringify(observed, null, 2)}\n`);
    console.log(`faults: observed\n${JSON.stringify(observed, null, 2)}`);
  });

  // ---------------------------------------------------------------- helpers

  async function create(body: unknown, headers: Record<string, string> = {}): Promise<ServiceView> {
    const response = await api<ServiceView>('POST', '/api/v1/services', body, headers);
    expect({ status: response.status, body: response.body }).toMatchObject({ status: 200 });
    return response.body;
  }

  async function statusOf(id: string): Promise<string> {
    return (await api<{ status: string }>('GET', `/api/v1/services/${id}/status`)).body.status;
  }

  async function waitStatus(id: string, wanted: string, timeoutMs = 90_000): Promise<number> {
    const started = performance.now();
    let last = '';
    await waitUntil(
      () => last === wanted,
      timeoutMs,
      async () => {
        last = await statusOf(id).catch(() => '');
      },
    ).catch(() => {
      throw new Error(`service ${id} did not become ${wanted} within ${timeoutMs} ms (last: ${last})`);
    });
    return ms(started);
  }

  function prompt(id: string): Promise<ApiResponse<{ success: boolean; routed_to?: string }>> {
    return api('POST', `/api/v1/vllm/${id}/prompt`, { prompt: 'ping', max_tokens: 4 });
  }

  async function cancel(id: string): Promise<void> {
    const response = await api('POST', `/api/v1/services/${id}/status`, { status: 'cancelled' });
    expect({ status: response.status, body: response.body }).toMatchObject({ status: 200 });
  }

  async function listed(): Promise<Map<string, string>> {
    const response = await api<ServiceView[]>('GET', '/api/v1/services');
    expect(response.status).toBe(200);
    return new Map(response.body.map((record) => [record.id, record.status]));
  }

  /** Index of the next log line, to wait for lines printed after it. */
  const mark = (): number => suite.logs.length;

  async function waitForLog(
    name: string,
    msg: string,
    from: number,
    timeoutMs = 30_000,
  ): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = from; i < suite.logs.length; i += 1) {
        const entry = suite.logs[i];
        if (entry?.name !== name || !entry.line.startsWith('{')) continue;
        const parsed = JSON.parse(entry.line) as Record<string, unknown>;
        if (parsed.msg === msg) return parsed;
      }
      if (Date.now() > deadline) throw new Error(`${name} did not log "${msg}" within ${timeoutMs} ms`);
      await sleep(20);
    }
  }

  async function restart(name: string, kill = true): Promise<number> {
    const spec = kill ? await suite.stack.supervisor.kill(name, 'SIGKILL') : undefined;
    if (!spec) throw new Error(`${name} is not running`);
    return (await timed(() => suite.stack.supervisor.start(spec))).ms;
  }

  /** Compares what SLURM lists under this stack's state dir with the records: no orphan, no duplicate. */
  async function expectSlurmMatchesRecords(): Promise<SlurmJob[]> {
    const jobs = slurmJobsUnder(suite.stateDir);
    const names = jobs.map((job) => job.name);
    expect(names.filter((name, index) => names.indexOf(name) !== index)).toEqual([]);
    for (const job of jobs) {
      if (unrecordedOnPurpose.has(job.id)) continue;
      expect({ job: job.id, name: job.name, recorded: await registry.exists(job.id) }).toEqual({
        job: job.id,
        name: job.name,
        recorded: true,
      });
    }
    return jobs;
  }

  /** The service every scenario may prompt: started once, and again only if a scenario lost it. */
  async function ensureSteady(): Promise<void> {
    if (steady !== '' && (await statusOf(steady).catch(() => '')) === 'running') return;
    steady = (await create(CPU_SERVICE)).id;
    await waitStatus(steady, 'running');
    expect((await prompt(steady)).status).toBe(200);
  }

  /** Every hop answers: the tunnel, the orchestrator, Redis and a worker (/ready), and the data plane. */
  async function healthy(timeoutMs = 60_000): Promise<void> {
    let ready = 0;
    let prompted = 0;
    await waitUntil(
      () => ready === 200 && prompted === 200,
      timeoutMs,
      async () => {
        ready = (await api('GET', '/ready').catch(() => ({ status: 0 }))).status;
        prompted = ready === 200 ? (await prompt(steady).catch(() => ({ status: 0 }))).status : 0;
      },
    ).catch(() => {
      throw new Error(
        `the stack was not healthy within ${timeoutMs} ms (/ready ${ready}, prompt ${prompted})`,
      );
    });
  }

  /** Brings back whatever a scenario (failed or not) left down, then waits for a healthy stack. */
  async function heal(): Promise<void> {
    await slurmctld.start();
    if (!redis.running) await redis.restart();
    if (!sshd.running) await sshd.restart();
    const revived = await suite.stack.supervisor.reviveKilled();
    if (revived.length > 0) console.warn(`faults: revived ${revived.join(', ')} after the scenario`);
    let ready = 0;
    await waitUntil(
      () => ready === 200,
      60_000,
      async () => {
        ready = (await api('GET', '/ready').catch(() => ({ status: 0 }))).status;
      },
    );
    await ensureSteady();
    await healthy();
  }

  // ---------------------------------------------------------------- scenarios

  it('kill -9 gateway: clients are refused until the supervisor restarts it; nothing behind it noticed', async () => {
    const before = await listed();
    const spec = await suite.stack.supervisor.kill('gateway', 'SIGKILL');
    const refused = await fetch(`${suite.stack.gatewayUrl}/health`).then(
      () => 'answered',
      (error: unknown) => String((error as { cause?: { code?: string } }).cause?.code ?? error),
    );
    expect(refused).toBe('ECONNREFUSED');
    // The cluster side kept working: the orchestrator answers with the same records.
    const direct = await apiClient(suite.stack.orchestratorUrl)<ServiceView[]>(
      'GET',
      '/api/services',
      undefined,
      {
        authorization: `Bearer ${suite.stack.orchestratorToken}`,
      },
    );
    expect(direct.body.map((record) => record.id).sort()).toEqual([...before.keys()].sort());

    observed.gateway_restart_ms = (await timed(() => suite.stack.supervisor.start(spec!))).ms;
    expect(await listed()).toEqual(before);
    expect((await prompt(steady)).status).toBe(200);
  });

  // The data plane does not cross the orchestrator (the gateway reaches the proxy over its own SSH
  // channel), so prompts keep being served while the control plane is down.
  it('kill -9 orchestrator: control plane 503 at once (no job can be created), prompts still served; the restart serves the same records', async () => {
    const before = await listed();
    const jobsBefore = slurmJobsUnder(suite.stateDir).length;
    const spec = await suite.stack.supervisor.kill('orchestrator', 'SIGKILL');
    let read, write, data, ready;
    try {
      read = await timed(() => api<{ message: string }>('GET', '/api/v1/services'));
      write = await timed(() => api('POST', '/api/v1/services', CPU_SERVICE));
      data = await timed(() => prompt(steady));
      ready = await api('GET', '/ready');
    } finally {
      observed.orchestrator_restart_ms = (await timed(() => suite.stack.supervisor.start(spec!))).ms;
    }
    observed.orchestrator_down = `list ${read.value.status} in ${read.ms} ms, create ${write.value.status} in ${write.ms} ms, prompt ${data.value.status} in ${data.ms} ms`;
    expect([read.value.status, write.value.status, data.value.status, ready.status]).toEqual([
      503, 503, 200, 503,
    ]);
    expect(read.value.body.message).toMatch(/orchestrator/i);
    expect(Math.max(read.ms, write.ms, data.ms)).toBeLessThan(FAST_FAILURE_MS);

    expect(await listed()).toEqual(before);
    expect(slurmJobsUnder(suite.stateDir).length).toBe(jobsBefore);
    expect((await prompt(steady)).status).toBe(200);
  });

  it('kill -9 proxy: prompts get a clear 503 while the control plane still answers; back after the restart', async () => {
    const spec = await suite.stack.supervisor.kill('proxy', 'SIGKILL');
    let down, control;
    try {
      down = await timed(() => prompt(steady));
      control = await statusOf(steady);
    } finally {
      observed.proxy_restart_ms = (await timed(() => suite.stack.supervisor.start(spec!))).ms;
    }
    observed.proxy_down = `prompt ${down.value.status} in ${down.ms} ms`;
    expect(down.value.status).toBe(503);
    expect(down.value.body).toMatchObject({ success: false });
    expect(JSON.stringify(down.value.body)).toMatch(/proxy/i);
    expect(down.ms).toBeLessThan(FAST_FAILURE_MS);
    expect(control).toBe('running');
    expect((await prompt(steady)).status).toBe(200);
  });

  it('kill -9 health-prober: running services keep serving, a new one is not called running before a probe says so', async () => {
    const spec = await suite.stack.supervisor.kill('health-prober', 'SIGKILL');
    let fresh: ServiceView;
    let freshStatus: string, steadyPrompt: number, steadyStatus: string;
    try {
      fresh = await create(CPU_SERVICE);
      // SLURM runs it, but nothing has asked the workload whether it answers.
      let schedulerState = '';
      await waitUntil(
        () => schedulerState === 'RUNNING',
        60_000,
        async () => {
          schedulerState = (await registry.get(fresh.id))?.scheduler_state ?? '';
        },
      );
      await sleep(3 * PROBE_MS);
      freshStatus = await statusOf(fresh.id);
      steadyPrompt = (await prompt(steady)).status;
      steadyStatus = await statusOf(steady);
    } catch (error) {
      await suite.stack.supervisor.start(spec!);
      throw error;
    }
    expect({ freshStatus, steadyPrompt, steadyStatus }).toEqual({
      freshStatus: 'configuring',
      steadyPrompt: 200,
      steadyStatus: 'running',
    });

    const restarted = performance.now();
    await suite.stack.supervisor.start(spec!);
    await waitStatus(fresh.id, 'running', 10_000);
    observed.prober_restart_to_running_ms = ms(restarted);
    await cancel(fresh.id);
    await expectSlurmMatchesRecords();
  });

  it('kill -9 slurm-worker while its sbatch runs: exactly one job and one record, and the create still answers', async () => {
    const key = `faults-${randomBytes(6).toString('hex')}`;
    const submissionId = createHash('sha256').update(key).digest('hex').slice(0, 32);
    const jobName = `aiplane-${submissionId}-g1`;
    const workerPid = suite.stack.supervisor.pid('slurm-worker')!;
    const from = mark();
    const sent = performance.now();
    const pending = api<ServiceView>('POST', '/api/v1/services', CPU_SERVICE, { 'idempotency-key': key });

    // The worst moment: sbatch is running (it finishes without the worker and the job exists),
    // the record is not written. If sbatch was too quick to be seen, right after it returned.
    const sbatch = await childRunning(workerPid, 'sbatch', 20_000);
    if (sbatch === undefined) await waitForLog('slurm-worker', 'job submitted', from);
    const spec = await suite.stack.supervisor.kill('slurm-worker', 'SIGKILL');
    observed.worker_killed = sbatch === undefined ? 'after sbatch returned' : 'while sbatch ran';
    observed.worker_killed_after_create_ms = ms(sent);
    let jobId = '';
    await waitUntil(
      () => jobId !== '',
      10_000,
      () => {
        jobId = slurmJobsUnder(suite.stateDir).find((job) => job.name === jobName)?.id ?? '';
        return Promise.resolve();
      },
    );
    observed.worker_record_existed_at_kill = await registry.exists(jobId);

    const restartFrom = mark();
    await suite.stack.supervisor.start(spec!);
    const reconciled = await waitForLog('slurm-worker', 'reconciled with the scheduler', restartFrom);
    observed.worker_reconcile_adopted = JSON.stringify(reconciled.adopted);
    observed.worker_reconciled_after_kill_ms = ms(sent);

    const answer = await pending;
    observed.worker_crash_create_answer = `${answer.status} after ${ms(sent)} ms`;
    expect({ status: answer.status, id: answer.body.id }).toEqual({ status: 200, id: jobId });

    const named = slurmJobsUnder(suite.stateDir).filter((job) => job.name === jobName);
    expect(named.map((job) => job.id)).toEqual([jobId]);
    const records = (await registry.listEntries())
      .flatMap((entry) => (entry.type === 'service' ? [entry.service] : []))
      .filter((record) => record.submission_id === submissionId);
    expect(records.map((record) => record.id)).toEqual([jobId]);

    // Retried with the same key, through the gateway: the same service, still one job.
    const retried = await create(CPU_SERVICE, { 'idempotency-key': key });
    expect(retried.id).toBe(jobId);
    expect(slurmJobsUnder(suite.stateDir).filter((job) => job.name === jobName)).toHaveLength(1);

    await waitStatus(jobId, 'running');
    expect((await prompt(jobId)).status).toBe(200);
    await cancel(jobId);
    await expectSlurmMatchesRecords();
  });

  it('answers duplicated creates racing each other with one service and one job', async () => {
    const key = `faults-race-${randomBytes(6).toString('hex')}`;
    const answers = await Promise.all(
      [0, 1, 2].map(() =>
        api<ServiceView>('POST', '/api/v1/services', CPU_SERVICE, { 'idempotency-key': key }),
      ),
    );
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    const ids = new Set(answers.map((answer) => answer.body.id));
    expect(ids.size).toBe(1);
    const submissionId = createHash('sha256').update(key).digest('hex').slice(0, 32);
    expect(
      slurmJobsUnder(suite.stateDir).filter((job) => job.name === `aiplane-${submissionId}-g1`),
    ).toHaveLength(1);
    await cancel([...ids][0]!);
  });

  it('a restarted worker adopts a job sbatch started but no record names, and cancels jobs nothing can describe', async () => {
    const runner = new ExecFileCommandRunner();
    const sleeper = async (name: string, dir: string): Promise<string> => {
      mkdirSync(dir, { recursive: true });
      const id = await slurm.submit({
        script: [
          '#!/bin/bash',
          `#SBATCH --job-name=${name}`,
          `#SBATCH --output=${dir}/stdout.log`,
          `#SBATCH --error=${dir}/stderr.log`,
          '#SBATCH --cpus-per-task=1 --mem=100M --time=10',
          'sleep 600',
          '',
        ].join('\n'),
        jobName: name,
        jobDir: dir,
        stdoutPath: path.join(dir, 'stdout.log'),
        stderrPath: path.join(dir, 'stderr.log'),
        env: baseEnv(),
      });
      ownJobs.push(id);
      return id;
    };
    // A worker that died between sbatch and the record write leaves exactly this behind: the
    // submission document, and a job carrying its name in its directory.
    const submissionId = randomBytes(16).toString('hex');
    await registry.createSubmission({
      id: submissionId,
      recipe_name: CPU_SERVICE.recipe_name,
      config: CPU_SERVICE.config,
      request_id: 'faults-crash-window',
      created_at: new Date().toISOString(),
    });
    const crashed = await sleeper(
      `aiplane-${submissionId}-g1`,
      path.join(suite.stateDir, 'jobs', submissionId),
    );
    // A job of this deployment that no submission describes (its document is gone).
    const orphanId = randomBytes(16).toString('hex');
    const orphan = await sleeper(`aiplane-${orphanId}-g1`, path.join(suite.stateDir, 'jobs', orphanId));
    unrecordedOnPurpose.add(orphan);
    // Another deployment's job on the same account: same prefix, its own state dir.
    const foreignDir = mkdtempSync(path.join(workDir, 'elsewhere-'));
    const foreign = await sleeper(
      `aiplane-${randomBytes(16).toString('hex')}-g1`,
      path.join(foreignDir, 'jobs', 'x'),
    );

    const from = mark();
    const restartMs = await restart('slurm-worker');
    const report = await waitForLog('slurm-worker', 'reconciled with the scheduler', from);
    observed.reconcile_worker_restart_ms = restartMs;
    observed.reconcile_report = JSON.stringify({
      owned: report.owned,
      adopted: report.adopted,
      cancelled: report.cancelled,
    });
    expect(report.adopted).toEqual([crashed]);
    expect(report.cancelled).toEqual([orphan]);

    const record = await api<ServiceView & { recipe_name: string; name: string }>(
      'GET',
      `/api/v1/services/${crashed}`,
    );
    expect(record.status).toBe(200);
    expect(record.body).toMatchObject({
      id: crashed,
      job_id: crashed,
      recipe_name: CPU_SERVICE.recipe_name,
      name: `${CPU_SERVICE.recipe_name}-${crashed}`,
    });
    expect((await registry.getSubmission(submissionId))?.job_id).toBe(crashed);
    const states = new Map(
      (
        await runner.run('squeue', [
          '--noheader',
          '--states=all',
          '--format=%i %T',
          `--jobs=${crashed},${orphan},${foreign}`,
        ])
      ).stdout
        .trim()
        .split('\n')
        .map((line) => line.trim().split(' ') as [string, string]),
    );
    expect(states.get(orphan)).toMatch(/CANCELLED|COMPLETING/);
    expect(states.get(foreign)).toMatch(/PENDING|RUNNING/);
    expect(states.get(crashed)).toMatch(/PENDING|RUNNING/);

    // The adopted record is a full one: the API cancels its job.
    await cancel(crashed);
    await slurm.cancel(foreign);
    await expectSlurmMatchesRecords();
  });

  it('keeps terminal states final across worker restarts: cancelled stays cancelled', async () => {
    const cancelledIds: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const created = await create(CPU_SERVICE);
      await cancel(created.id);
      await waitStatus(created.id, 'cancelled', 30_000);
      cancelledIds.push(created.id);
    }
    const from = mark();
    await restart('slurm-worker');
    await waitForLog('slurm-worker', 'reconciled with the scheduler', from);
    await sleep(2 * POLL_MS);
    const after = await listed();
    for (const id of cancelledIds) expect({ id, status: after.get(id) }).toEqual({ id, status: 'cancelled' });
  });

  it('Redis killed (SIGKILL, AOF fsync always) and restarted: clear 503s while away, every record back after', async () => {
    const before = await listed();
    const jobsBefore = slurmJobsUnder(suite.stateDir).map((job) => job.id);
    // No grace period: with appendfsync always every acknowledged write is already on disk.
    await redis.kill();
    const killedAt = performance.now();
    let read, write, data, ready;
    try {
      read = await timed(() => api<{ message: string }>('GET', '/api/v1/services'));
      write = await timed(() => api<{ message: string }>('POST', '/api/v1/services', CPU_SERVICE));
      data = await timed(() => prompt(steady));
      ready = await api('GET', '/ready');
      await sleep(Math.max(0, 3_000 - ms(killedAt)));
    } finally {
      await redis.restart();
    }
    const restarted = performance.now();
    observed.redis_down = `list ${read.value.status} in ${read.ms} ms, create ${write.value.status} in ${write.ms} ms, prompt ${data.value.status} in ${data.ms} ms, /ready ${ready.status}`;
    observed.redis_down_message = read.value.body.message;
    expect([read.value.status, write.value.status, data.value.status, ready.status]).toEqual([
      503, 503, 200, 503,
    ]);
    expect(read.value.body.message).toMatch(/Redis/);
    expect(Math.max(read.ms, write.ms, data.ms)).toBeLessThan(5_000);

    let status = 0;
    await waitUntil(
      () => status === 200,
      30_000,
      async () => {
        status = (await api('GET', '/api/v1/services')).status;
      },
    );
    observed.redis_recovery_ms = ms(restarted);
    expect(await listed()).toEqual(before);
    expect(slurmJobsUnder(suite.stateDir).map((job) => job.id)).toEqual(jobsBefore);
    let promptStatus = 0;
    await waitUntil(
      () => promptStatus === 200,
      30_000,
      async () => {
        promptStatus = (await prompt(steady)).status;
      },
    );
    observed.redis_prompt_recovery_ms = ms(restarted);

    // The queue came back with it: a create goes all the way to a running workload.
    const created = await timed(() => create(CPU_SERVICE));
    observed.redis_first_create_after_ms = created.ms;
    await waitStatus(created.value.id, 'running');
    await cancel(created.value.id);
    await expectSlurmMatchesRecords();
  });

  it('SSH connection cut: the gateway answers 503 at once while sshd is away and reconnects by itself', async () => {
    expect((await api('GET', '/api/v1/services')).status).toBe(200);
    await sshd.cut();
    const cutAt = performance.now();
    const answers: { status: number; ms: number; message: string }[] = [];
    let health, ready;
    try {
      while (ms(cutAt) < 2_000) {
        const attempt = await timed(() => api<{ message: string }>('GET', '/api/v1/services'));
        answers.push({ status: attempt.value.status, ms: attempt.ms, message: attempt.value.body.message });
        await sleep(100);
      }
      health = await api<{ status: string }>('GET', '/health');
      ready = await api('GET', '/ready');
    } finally {
      await sshd.restart();
    }
    const back = performance.now();
    const slowest = Math.max(...answers.map((answer) => answer.ms));
    observed.ssh_down = `${answers.length} requests, all ${[...new Set(answers.map((a) => a.status))].join('/')}, slowest ${slowest} ms; /health ${health.status} ${health.body.status}, /ready ${ready.status}`;
    observed.ssh_down_message = answers[answers.length - 1]?.message ?? '';
    expect(answers.filter((answer) => answer.status !== 503 || !/SSH tunnel/.test(answer.message))).toEqual(
      [],
    );
    expect(slowest).toBeLessThan(FAST_FAILURE_MS);
    expect({ status: health.status, health: health.body.status, ready: ready.status }).toEqual({
      status: 200,
      health: 'degraded',
      ready: 503,
    });

    let status = 0;
    await waitUntil(
      () => status === 200,
      30_000,
      async () => {
        status = (await api('GET', '/api/v1/services')).status;
      },
    );
    observed.ssh_recovery_ms = ms(back);
    expect((await prompt(steady)).status).toBe(200);
  });

  it('slurmctld stopped for 30 s: creates and cancels fail fast with 503, running services keep serving, records catch up', async () => {
    const doomed = await create(CPU_SERVICE);
    await waitStatus(doomed.id, 'running');
    const doomedEndpoint = (await api<ServiceView>('GET', `/api/v1/services/${doomed.id}`)).body.endpoint;
    const doomedPort = Number(new URL(doomedEndpoint ?? 'http://x:0').port);
    const jobsBefore = slurmJobsUnder(suite.stateDir).length;

    await slurmctld.stop();
    const began = performance.now();
    let first, second, refusedCancel, steadyAfterCancel;
    const prompts: number[] = [];
    try {
      first = await timed(() => api<{ message: string }>('POST', '/api/v1/services', CPU_SERVICE));
      second = await timed(() => api<{ message: string }>('POST', '/api/v1/services', CPU_SERVICE));
      // A cancel the scheduler cannot carry out is an error, never a false success.
      refusedCancel = await timed(() =>
        api<{ message: string }>('POST', `/api/v1/services/${steady}/status`, { status: 'cancelled' }),
      );
      steadyAfterCancel = await statusOf(steady);
      // The doomed service's workload dies while nobody can ask the scheduler about it.
      process.kill(listenerPid(doomedPort), 'SIGKILL');
      while (ms(began) < SLURMCTLD_OUTAGE_MS) {
        prompts.push((await prompt(steady)).status);
        await sleep(1_000);
      }
    } finally {
      await slurmctld.start();
    }
    const ended = performance.now();
    observed.slurmctld_down_first_create = `${first.value.status} in ${first.ms} ms: ${first.value.body.message}`;
    observed.slurmctld_down_second_create = `${second.value.status} in ${second.ms} ms`;
    observed.slurmctld_down_cancel = `${refusedCancel.value.status} in ${refusedCancel.ms} ms: ${refusedCancel.value.body.message}`;
    observed.slurmctld_down_prompts = `${prompts.filter((code) => code === 200).length}/${prompts.length} answered 200`;
    expect(first.value.status).toBe(503);
    expect(first.ms).toBeLessThan(25_000);
    expect(second.value.status).toBe(503);
    expect(second.ms).toBeLessThan(10_000);
    expect(refusedCancel.value.status).toBe(503);
    expect(steadyAfterCancel).toBe('running');
    expect(prompts.every((code) => code === 200)).toBe(true);
    // The creates refused during the outage left no job behind once the controller is back.
    expect(slurmJobsUnder(suite.stateDir).length).toBe(jobsBefore);

    await waitStatus(doomed.id, 'failed', 30_000);
    observed.slurmctld_record_catch_up_ms = ms(ended);
    const created = await timed(() => create(CPU_SERVICE));
    observed.slurmctld_first_create_after_ms = created.ms;
    await waitStatus(created.value.id, 'running');
    expect(await statusOf(steady)).toBe('running');
    await cancel(created.value.id);
    await expectSlurmMatchesRecords();
  });

  it('a replica that accepts connections but never answers (SIGSTOP) leaves the rotation within two probe intervals, and returns', async () => {
    const group = await create(TWO_REPLICAS);
    let status: GroupStatus | undefined;
    const refresh = async (): Promise<void> => {
      status = (await api<GroupStatus>('GET', `/api/v1/service-groups/${group.id}/status`)).body;
    };
    await waitUntil(() => status?.overall_status === 'running', 90_000, refresh);
    const victim = status!.replica_statuses[1]!;
    const pid = listenerPid(Number(new URL(victim.endpoint!).port));

    process.kill(pid, 'SIGSTOP');
    const stopped = performance.now();
    try {
      const healthyVictim = (): boolean =>
        status?.replica_statuses.find((replica) => replica.id === victim.id)?.healthy === true;
      await waitUntil(() => !healthyVictim(), 5_000, refresh);
      observed.hang_detection_ms = ms(stopped);
      expect(ms(stopped)).toBeLessThanOrEqual(2 * PROBE_MS + 100);
      expect(status?.overall_status).not.toBe('running');

      const routed: string[] = [];
      for (let i = 0; i < 20; i += 1) {
        const answer = await prompt(group.id);
        expect(answer.status).toBe(200);
        routed.push(answer.body.routed_to ?? '');
      }
      expect(routed).not.toContain(victim.id);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const resumed = performance.now();
    await waitUntil(() => status?.overall_status === 'running', 10_000, refresh);
    observed.hang_return_ms = ms(resumed);
    const routed: string[] = [];
    for (let i = 0; i < 6; i += 1) routed.push((await prompt(group.id)).body.routed_to ?? '');
    expect(routed).toContain(victim.id);
    await cancel(group.id);
    await expectSlurmMatchesRecords();
  });

  it("kill -9 of every app and of Redis, again and again, during a run of the document's examples: no record lost, no job duplicated", async () => {
    const before = await listed();
    const jobsBefore = new Set(slurmJobsUnder(suite.stateDir).map((job) => job.id));
    const victims = ['gateway', 'orchestrator', 'proxy', 'health-prober', 'slurm-worker', 'redis'] as const;
    const kills: string[] = [];
    let chaos = true;
    // A function, not the variable: the loop below must read the flag the test body sets later.
    const raging = (): boolean => chaos;
    const jitter = (from: number, to: number): Promise<void> => sleep(from + Math.random() * (to - from));

    // One thing down at a time, each back after a moment, in a new order every round.
    const monkey = (async () => {
      while (raging()) {
        for (const victim of [...victims].sort(() => Math.random() - 0.5)) {
          await jitter(300, 1_200);
          if (!raging()) return;
          kills.push(victim);
          if (victim === 'redis') {
            await redis.kill();
            await jitter(200, 1_500);
            await redis.restart();
          } else {
            const spec = await suite.stack.supervisor.kill(victim, 'SIGKILL');
            await jitter(100, 1_000);
            if (spec) await suite.stack.supervisor.start(spec);
          }
        }
      }
    })();

    // The document's creates (server-api.md, in its order; GPU counts as written, the CPU-only
    // one as written), each taken through its walk by a careful client: every request retried
    // while the answer is a 5xx or no answer, creates under one Idempotency-Key each.
    // An example real vLLM refuses at start-up ends `failed` as it would on the cluster: that is its walk.
    const examples: { key: string; body: Record<string, unknown>; use: 'prompt' | 'vectors' | 'refused' }[] =
      [
        ...Object.entries(DOCUMENT_CREATE_REQUESTS).map(([key, { body }]) => ({
          key,
          body,
          use: key in DOCUMENT_EXAMPLES_VLLM_REFUSES ? ('refused' as const) : ('prompt' as const),
        })),
        { key: 'qdrant', body: { recipe_name: 'vector-db/qdrant' }, use: 'vectors' },
      ];
    const run = randomBytes(4).toString('hex');
    const finalStatus = new Map<string, string>();
    const answeredIds = new Map<string, Set<string>>();
    let retries = 0;

    /** Sends until answered with anything but a 5xx; what a client of a flaky network does. */
    async function careful<T>(
      method: string,
      url: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ): Promise<ApiResponse<T>> {
      const deadline = Date.now() + 120_000;
      for (;;) {
        const answer = await api<T>(method, url, body, headers).catch(() => undefined);
        if (answer && answer.status < 500) return answer;
        if (Date.now() > deadline) throw new Error(`${method} ${url} got no answer below 500 in 120 s`);
        retries += 1;
        await sleep(250);
      }
    }

    async function settle(id: string, wanted: string): Promise<void> {
      const deadline = Date.now() + 120_000;
      let last = '';
      while (last !== wanted) {
        if (Date.now() > deadline) throw new Error(`${id} did not become ${wanted} (last: ${last})`);
        last = (await careful<{ status: string }>('GET', `/api/v1/services/${id}/status`)).body.status;
        await sleep(200);
      }
    }

    const started = performance.now();
    try {
      for (const example of examples) {
        const key = `chaos-${run}-${example.key}`;
        // Twice, as a client that lost the first answer would: both must name the same service.
        const ids = new Set<string>();
        for (let attempt = 0; attempt < 2; attempt += 1) {
          const created = await careful<ServiceView>('POST', '/api/v1/services', example.body, {
            'idempotency-key': key,
          });
          expect({ example: example.key, status: created.status }).toEqual({
            example: example.key,
            status: 200,
          });
          ids.add(created.body.id);
        }
        answeredIds.set(example.key, ids);
        const [id = ''] = [...ids];
        if (example.use === 'refused') {
          await settle(id, 'failed');
          finalStatus.set(id, 'failed');
          continue;
        }
        await settle(id, 'running');
        if (example.use === 'prompt') {
          const answer = await careful<{ success: boolean }>('POST', `/api/v1/vllm/${id}/prompt`, {
            prompt: 'Hello',
            max_tokens: 8,
          });
          expect({ example: example.key, status: answer.status }).toEqual({
            example: example.key,
            status: 200,
          });
        } else {
          const base = `/api/v1/vector-db/${id}/collections/my_documents`;
          const made = await careful('PUT', base, { vector_size: 4, distance: 'Cosine' });
          // A retry of a create that landed meets the collection it made.
          expect([200, 201, 409]).toContain(made.status);
          const points = [{ id: 1, vector: [0.1, 0.2, 0.3, 0.4], payload: { text: 'doc' } }];
          expect((await careful('PUT', `${base}/points`, { points })).status).toBe(200);
          const found = await careful('POST', `${base}/points/search`, {
            query_vector: [0.1, 0.2, 0.3, 0.4],
            limit: 1,
          });
          expect(found.status).toBe(200);
        }
        const cancelled = await careful('POST', `/api/v1/services/${id}/status`, { status: 'cancelled' });
        expect(cancelled.status).toBe(200);
        await settle(id, 'cancelled');
      }
    } finally {
      chaos = false;
      await monkey;
    }
    observed.chaos_run_ms = ms(started);
    observed.chaos_kills = kills.length;
    observed.chaos_kill_counts = victims
      .map((victim) => `${victim} ${kills.filter((k) => k === victim).length}`)
      .join(', ');
    observed.chaos_client_retries = retries;
    // Every victim went down at least once while the examples ran.
    for (const victim of victims) expect(kills).toContain(victim);

    // One service per create, however often it was retried.
    for (const [example, ids] of answeredIds) expect({ example, ids: ids.size }).toEqual({ example, ids: 1 });
    const createdIds = [...answeredIds.values()].flatMap((ids) => [...ids]);

    // No record lost: everything listed before is still listed, every created service is, and final.
    const after = await listed();
    for (const id of before.keys()) expect({ id, listed: after.has(id) }).toEqual({ id, listed: true });
    for (const id of createdIds)
      expect({ id, status: after.get(id) }).toEqual({ id, status: finalStatus.get(id) ?? 'cancelled' });

    // No job duplicated or unrecorded: SLURM's own list against the records, job by job.
    const jobs = await expectSlurmMatchesRecords();
    const newJobs = jobs.filter((job) => !jobsBefore.has(job.id));
    const recordedJobs = new Set<string>();
    for (const id of createdIds) {
      const view = id.startsWith('sg-') ? await registry.getGroupView(id) : undefined;
      for (const jobId of view ? view.group.job_ids : [id]) recordedJobs.add(jobId);
    }
    expect(newJobs.map((job) => job.id).sort()).toEqual([...recordedJobs].sort());
    expect(await statusOf(steady)).toBe('running');
  });
});
