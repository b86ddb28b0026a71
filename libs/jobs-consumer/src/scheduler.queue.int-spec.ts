import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  SCHEDULER_JOB_POLICIES,
  SCHEDULER_QUEUE,
  schedulerJobIds,
  encodeJobFailure,
  type SchedulerJobs,
} from '@aiplane/contracts';
import {
  createBullConnection,
  JobFailedError,
  JobWaitTimeoutError,
  SchedulerQueueClient,
} from '@aiplane/jobs';
import { SchedulerQueueWorker, WORKER_LOCK_MS, type SchedulerHandlers } from './scheduler.worker';
import { infraRedisUrl } from '@aiplane/testing';

// Real Redis and BullMQ, no fakes: tools/infra/up.sh (or CI) provides Redis. The handlers below are
// the worker's injection point (the slurm-worker passes its sbatch/scancel/squeue handlers there).
// Every test runs on its own BullMQ prefix, whose keys are deleted afterwards.
function redisUrl(): string {
  return infraRedisUrl();
}

async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

type SubmitPayload = SchedulerJobs['submit']['payload'];

function handlers(overrides: Partial<SchedulerHandlers> = {}): SchedulerHandlers {
  return {
    submit: (job) => Promise.resolve({ serviceId: `svc-${job.data.submissionId}` }),
    cancel: (job) => Promise.resolve({ serviceId: job.data.serviceId, alreadyFinal: false }),
    poll: () => Promise.resolve({ tracked: 0, changed: 0 }),
    rollover: () => Promise.resolve({ jobIds: [] }),
    retire: () => Promise.resolve({ cancelled: [] }),
    'idle-stop': (job) => Promise.resolve({ serviceId: job.data.serviceId, stopped: true }),
    wake: (job) => Promise.resolve({ serviceId: job.data.serviceId, jobId: null }),
    ...overrides,
  };
}

describe('SchedulerQueueClient and SchedulerQueueWorker on real Redis', () => {
  let connection: Redis;
  let prefix: string;
  // Closed in reverse order of creation after each test, whatever the test did.
  let closers: (() => Promise<void>)[];

  beforeAll(async () => {
    const probe = createBullConnection(redisUrl());
    try {
      await probe.ping();
    } catch (error) {
      throw new Error(
        `Redis is not available at ${redisUrl()} (${String(error)}). Start it with \`bash tools/infra/up.sh redis\`.`,
      );
    } finally {
      probe.disconnect();
    }
  });

  beforeEach(() => {
    prefix = `aiplane-int-jobs-${randomBytes(6).toString('hex')}`;
    connection = createBullConnection(redisUrl());
    closers = [];
  });

  afterEach(async () => {
    for (const close of closers.reverse()) await close();
    await deleteKeys(connection, prefix);
    await connection.quit();
  });

  async function client(): Promise<SchedulerQueueClient> {
    const created = new SchedulerQueueClient(connection, prefix);
    closers.push(() => created.close());
    await created.ready();
    return created;
  }

  async function worker(
    overrides: Partial<SchedulerHandlers> = {},
    pollEveryMs = 60_000,
  ): Promise<SchedulerQueueWorker> {
    const created = new SchedulerQueueWorker(connection, handlers(overrides), {
      concurrency: 4,
      pollEveryMs,
      prefix,
    });
    closers.push(() => created.close());
    await created.start();
    return created;
  }

  /** A plain queue on the test's prefix, to look at what the client left behind. */
  function inspector(): Queue {
    const queue = new Queue(SCHEDULER_QUEUE, { connection, prefix });
    closers.push(() => queue.close());
    return queue;
  }

  function payload(submissionId: string): SubmitPayload {
    return { submissionId, requestId: `req-${submissionId}` };
  }

  it('submit returns what the submit handler returned, for a job carrying the payload and a deterministic id', async () => {
    const seen: { id: string | undefined; data: SubmitPayload }[] = [];
    await worker({
      submit: (job) => {
        seen.push({ id: job.id, data: job.data });
        return Promise.resolve({ serviceId: '4242' });
      },
    });
    const queue = await client();

    await expect(queue.submit(payload('sub-1'), 10_000)).resolves.toEqual({ serviceId: '4242' });
    expect(seen).toEqual([{ id: schedulerJobIds.submit('sub-1'), data: payload('sub-1') }]);
  });

  it('cancel returns what the cancel handler returned', async () => {
    await worker({
      cancel: (job) => Promise.resolve({ serviceId: job.data.serviceId, alreadyFinal: true }),
    });
    const queue = await client();

    await expect(queue.cancel({ serviceId: '77', requestId: 'req-c' }, 10_000)).resolves.toEqual({
      serviceId: '77',
      alreadyFinal: true,
    });
  });

  it('runs the handler once when the same submission is submitted twice concurrently, and answers both callers', async () => {
    let calls = 0;
    await worker({
      submit: async (job) => {
        calls += 1;
        // Long enough that the second enqueue arrives while the first job is still waiting or active.
        await sleep(300);
        return { serviceId: `svc-${job.data.submissionId}-${calls}` };
      },
    });
    // Two orchestrator replicas, each with its own client.
    const [first, second] = await Promise.all([client(), client()]);

    const results = await Promise.all([
      first.submit(payload('dup'), 10_000),
      second.submit(payload('dup'), 10_000),
    ]);

    expect(results).toEqual([{ serviceId: 'svc-dup-1' }, { serviceId: 'svc-dup-1' }]);
    expect(calls).toBe(1);

    // A retry after completion (the client timed out on its side, say) is answered from the same run.
    await expect(first.submit(payload('dup'), 10_000)).resolves.toEqual({ serviceId: 'svc-dup-1' });
    expect(calls).toBe(1);
  });

  it('reports an UnrecoverableError as JobFailedError with its message, without retries', async () => {
    let calls = 0;
    await worker({
      submit: () => {
        calls += 1;
        return Promise.reject(new UnrecoverableError('sbatch: error: invalid partition specified: gpu'));
      },
    });
    const queue = await client();

    const error: unknown = await queue.submit(payload('bad'), 10_000).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(JobFailedError);
    expect(error).toMatchObject({
      code: 'JOB_FAILED',
      kind: 'rejected',
      message: expect.stringContaining('invalid partition specified: gpu'),
    });
    expect(calls).toBe(1);
  });

  it('tells an unreachable scheduler from a refusal once every attempt has failed, from the encoded failure', async () => {
    let calls = 0;
    await worker({
      submit: () => {
        calls += 1;
        return Promise.reject(
          new Error(encodeJobFailure({ kind: 'unavailable', message: 'slurmctld does not answer' })),
        );
      },
    });
    const queue = await client();

    const error: unknown = await queue.submit(payload('down'), 20_000).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(JobFailedError);
    expect(error).toMatchObject({ kind: 'unavailable', message: 'slurmctld does not answer' });
    expect(calls).toBe(SCHEDULER_JOB_POLICIES.submit.attempts);
  });

  it('runs a failed submission again when it is submitted again', async () => {
    let calls = 0;
    await worker({
      submit: (job) => {
        calls += 1;
        return calls === 1
          ? Promise.reject(new UnrecoverableError('slurmctld unreachable'))
          : Promise.resolve({ serviceId: `svc-${job.data.submissionId}` });
      },
    });
    const queue = await client();

    await expect(queue.submit(payload('again'), 10_000)).rejects.toBeInstanceOf(JobFailedError);
    await expect(queue.submit(payload('again'), 10_000)).resolves.toEqual({ serviceId: 'svc-again' });
    expect(calls).toBe(2);
  });

  it('withdraws a job no worker took in time, so a worker started later never runs it', async () => {
    const queue = await client();
    const jobs = inspector();

    const started = Date.now();
    const error: unknown = await queue.submit(payload('orphan'), 500).catch((e: unknown) => e);
    const elapsed = Date.now() - started;

    expect(error).toBeInstanceOf(JobWaitTimeoutError);
    expect(error).toMatchObject({ code: 'JOB_WAIT_TIMEOUT' });
    expect(elapsed).toBeGreaterThanOrEqual(500);
    expect(elapsed).toBeLessThan(1_000);
    expect(await jobs.getJob(schedulerJobIds.submit('orphan'))).toBeUndefined();
    const counts = await jobs.getJobCounts(
      'waiting',
      'delayed',
      'prioritized',
      'active',
      'completed',
      'failed',
    );
    expect(Object.values(counts).every((count) => count === 0)).toBe(true);

    let calls = 0;
    let polled = 0;
    await worker(
      {
        submit: (job) => {
          calls += 1;
          return Promise.resolve({ serviceId: job.data.submissionId });
        },
        poll: () => {
          polled += 1;
          return Promise.resolve({ tracked: 0, changed: 0 });
        },
      },
      200,
    );
    // The worker is demonstrably consuming (it runs polls) and still never sees the withdrawn job.
    const deadline = Date.now() + 5_000;
    while (polled < 2 && Date.now() < deadline) await sleep(50);
    expect(polled).toBeGreaterThanOrEqual(2);
    expect(calls).toBe(0);
  });

  it('waits for a job a worker is already running when the wait runs out, rather than withdrawing it', async () => {
    await worker({
      submit: async (job) => {
        await sleep(700);
        return { serviceId: `svc-${job.data.submissionId}` };
      },
    });
    const queue = await client();

    await expect(queue.submit(payload('slow'), 400)).resolves.toEqual({ serviceId: 'svc-slow' });
  });

  it('reports a job that fails after the first wait ran out as JobFailedError', async () => {
    await worker({
      submit: async () => {
        await sleep(700);
        throw new UnrecoverableError('sbatch: error: Batch job submission failed: Invalid account');
      },
    });
    const queue = await client();

    const error: unknown = await queue.submit(payload('slow-fail'), 400).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(JobFailedError);
    expect((error as Error).message).toContain('Invalid account');
  });

  it('reports a handler error that says "timed out" as JobFailedError, not as a wait timeout', async () => {
    await worker({
      submit: () =>
        Promise.reject(new UnrecoverableError('sbatch: error: Socket timed out on send/recv operation')),
    });
    const queue = await client();

    const error: unknown = await queue.submit(payload('socket'), 10_000).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(JobFailedError);
    expect((error as Error).message).toContain('Socket timed out on send/recv operation');
  });

  it('never reports a job as withdrawn that a worker took while the wait ran out', async () => {
    // Many submissions whose deadlines are spread over the time a single slow worker takes jobs one by
    // one: some deadlines fall right when the worker takes that job. Whoever got JobWaitTimeoutError
    // ("nothing was submitted") must never see that submission run.
    const ran = new Set<string>();
    const queue = await client();
    const outcomes = new Map<string, 'result' | 'timeout'>();
    const submissions = Array.from({ length: 120 }, (_, i) => {
      const id = `race-${i}`;
      return queue.submit(payload(id), 300 + i * 7).then(
        () => outcomes.set(id, 'result'),
        (error: unknown) => {
          if (!(error instanceof JobWaitTimeoutError)) throw error;
          outcomes.set(id, 'timeout');
        },
      );
    });
    await sleep(50);
    const slow = new SchedulerQueueWorker(
      connection,
      handlers({
        submit: async (job) => {
          ran.add(job.data.submissionId);
          await sleep(15);
          return { serviceId: job.data.submissionId };
        },
      }),
      { concurrency: 1, pollEveryMs: 60_000, prefix },
    );
    closers.push(() => slow.close());
    await slow.start();
    await Promise.all(submissions);
    await sleep(300);

    const withdrawnButRan = [...outcomes].filter(([id, outcome]) => outcome === 'timeout' && ran.has(id));
    const answeredButNotRun = [...outcomes].filter(([id, outcome]) => outcome === 'result' && !ran.has(id));
    expect(withdrawnButRan).toEqual([]);
    expect(answeredButNotRun).toEqual([]);
    // Both outcomes occurred, so the deadlines really did fall on both sides of the worker's progress.
    expect([...outcomes.values()]).toEqual(expect.arrayContaining(['result', 'timeout']));
  });

  it('tells whether a submission still has a submit job to run or running', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const consumer = await worker({
      submit: async (job) => {
        await held;
        return { serviceId: job.data.submissionId };
      },
    });
    const queue = await client();
    expect(await consumer.submitPending('never-submitted')).toBe(false);
    const answer = queue.submit(payload('held'), 10_000);
    await sleep(200);
    expect(await consumer.submitPending('held')).toBe(true);
    release();
    await answer;
    expect(await consumer.submitPending('held')).toBe(false);
  });

  it('lets another worker take over the job of a worker that died holding it within about 15 s', async () => {
    const queue = await client();
    const answer = queue.submit(payload('orphaned'), 30_000);
    // A worker that takes the job and dies: its lock (as long as ours) is never renewed again.
    const deadConnection = createBullConnection(redisUrl());
    const dead = new Worker(SCHEDULER_QUEUE, null, {
      connection: deadConnection,
      prefix,
      lockDuration: WORKER_LOCK_MS,
    });
    closers.push(async () => {
      await dead.close(true);
      deadConnection.disconnect();
    });
    const taken = await dead.getNextJob('dead-worker-token');
    expect(taken.id).toBe(schedulerJobIds.submit('orphaned'));

    const started = Date.now();
    await worker();
    await expect(answer).resolves.toEqual({ serviceId: 'svc-orphaned' });
    expect(Date.now() - started).toBeLessThan(WORKER_LOCK_MS * 1.6);
  });

  it('polls once per interval in total, however many workers consume the queue', async () => {
    const pollEveryMs = 300;
    const windowMs = 2_100;
    const runs: number[] = [];
    const pollBy = (workerIndex: number): Partial<SchedulerHandlers> => ({
      poll: () => {
        runs.push(workerIndex);
        return Promise.resolve({ tracked: 0, changed: 0 });
      },
    });

    const first = await worker(pollBy(0), pollEveryMs);
    const second = await worker(pollBy(1), pollEveryMs);
    await sleep(windowMs);
    await Promise.all([first.close(), second.close()]);

    // 2.1 s / 0.3 s = 7 runs; twice that would mean each worker kept its own schedule.
    expect(runs.length).toBeGreaterThanOrEqual(5);
    expect(runs.length).toBeLessThanOrEqual(9);
    expect(await inspector().getJobSchedulersCount()).toBe(1);
  });
});
