import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { startOrchestrator, type RunningOrchestrator } from '../testing/orchestrator.harness';

// Issue 10, item 9: a Redis that refuses writes (OOM, READONLY, MISCONF) makes a create a 503 with
// Retry-After and a message that says so, and leaves no submission behind. (A lost connection is
// the same 503: store-unavailable.spec.ts.) A private
// redis-server on a free port in a temp dir: the shared one is never put into these states.
const BODY = { recipe_name: 'vector-db/qdrant', config: { resources: { gpu: 0 } } };

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  return port;
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i += 1) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting until ${what}`);
}

// The apps refuse a Redis without a password.
const PASSWORD = 'store-refusal-password-0123456789abcdef';

describe('creates against a record store that refuses writes (private redis-server)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'aiplane-store-refusal-'));
  // Redis saves into this directory (a protected setting Redis 7 will not change at run time):
  // deleting it makes every save fail.
  const data = path.join(dir, 'data');
  let port: number;
  let server: ChildProcess;
  let admin: Redis;
  let orchestrator: RunningOrchestrator;

  function startServer(): void {
    server = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--requirepass',
        PASSWORD,
        '--dir',
        data,
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stdio: 'ignore' },
    );
  }

  beforeAll(async () => {
    mkdirSync(data);
    port = await freePort();
    startServer();
    admin = new Redis({
      port,
      host: '127.0.0.1',
      password: PASSWORD,
      lazyConnect: true,
      maxRetriesPerRequest: 1,
    });
    await until('redis answers', async () => {
      if (admin.status === 'wait') await admin.connect();
      await admin.ping();
      return true;
    });
    orchestrator = await startOrchestrator({
      REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${String(port)}`,
      REDIS_PREFIX: 'refusal',
      SCHEDULER_WAIT_MS: '100',
    });
  });

  afterAll(async () => {
    await orchestrator.close();
    admin.disconnect();
    server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  async function create(): Promise<{ status: number; message: string; retryAfter: string | null }> {
    const res = await fetch(`${orchestrator.api}/services/start`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': `k-${String(Math.random())}` },
      body: JSON.stringify(BODY),
    });
    const body = (await res.json()) as { message: string };
    return { status: res.status, message: body.message, retryAfter: res.headers.get('retry-after') };
  }

  async function written(): Promise<string[]> {
    return [...(await admin.keys('refusal:submission:*')), ...(await admin.keys('refusal:quota:*'))];
  }

  // First: once the queue's event reader blocks on this Redis, the switch to a replica cuts it
  // (UNBLOCKED) and BullMQ's QueueEvents then never finishes closing; SchedulerQueueClient.close
  // stops waiting for it after a while, so the suite's afterAll ends whenever the reader blocked.
  it('READONLY (a replica of a master that is gone) → 503, Retry-After, "read-only", nothing written', async () => {
    await admin.call('REPLICAOF', '127.0.0.1', String(await freePort()));
    try {
      const answer = await create();
      expect(answer.status).toBe(503);
      expect(answer.retryAfter).toBe('5');
      expect(answer.message).toMatch(/read-only replica/);
    } finally {
      await admin.call('REPLICAOF', 'NO', 'ONE');
    }
    expect(await written()).toEqual([]);
  });

  it('works while the store takes writes (the baseline: admitted, then 503 for want of a worker)', async () => {
    const answer = await create();
    expect(answer.message).toMatch(/no slurm-worker took the submit job/);
    await admin.del(...(await admin.keys('refusal:*')));
  });

  it('OOM under noeviction → 503, Retry-After, "out of memory", nothing written', async () => {
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', '1');
    try {
      const answer = await create();
      expect(answer.status).toBe(503);
      expect(answer.retryAfter).toBe('5');
      expect(answer.message).toMatch(/out of memory and refuses writes; nothing was changed/);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
    }
    expect(await written()).toEqual([]);
  });

  it('MISCONF (a failed background save) → 503, Retry-After, "cannot save", nothing written', async () => {
    // Redis refuses writes for a failed save only where it has save points to honour.
    await admin.config('SET', 'save', '3600 1');
    await admin.config('SET', 'stop-writes-on-bgsave-error', 'yes');
    rmSync(data, { recursive: true, force: true });
    await admin.bgsave();
    await until('the save has failed', async () =>
      (await admin.info('persistence')).includes('rdb_last_bgsave_status:err'),
    );
    try {
      const answer = await create();
      expect(answer.status).toBe(503);
      expect(answer.retryAfter).toBe('5');
      expect(answer.message).toMatch(/cannot save to disk/);
    } finally {
      await admin.config('SET', 'stop-writes-on-bgsave-error', 'no');
      await admin.config('SET', 'save', '');
      mkdirSync(data);
    }
    expect(await written()).toEqual([]);
  });
});
