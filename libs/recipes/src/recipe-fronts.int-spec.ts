import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { freeJobPort } from '@aiplane/testing';

import { renderBatchScript } from './batch-script.render';
import { mergeConfig, type ServiceConfigInput } from './config.merge';
import { loadRecipeCatalogue } from './recipe.catalogue';

// Issue 10 item 4, as the repository's recipes run locally: real bash, real simulators (dist/),
// real auth_front.py. Every workload proves it holds its own key; each replica has a key of its own;
// a replica that ends takes its endpoint file with it.
const ROOT = join(__dirname, '..', '..', '..');
const { catalogue } = loadRecipeCatalogue(join(ROOT, 'recipes'));
const NODE_KEY = `node-${randomBytes(24).toString('base64url')}`;
const replicaKey = (index: number) => `replica-${index}-${randomBytes(24).toString('base64url')}`;

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  job: { exited: () => boolean; log: () => string },
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    // A job that ended, or one still not there, says why in its own output.
    if (job.exited()) throw new Error(`the job ended before: ${what}\n${job.log()}`);
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms\n${job.log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function get(endpoint: string, path: string, key?: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`${endpoint}${path}`, {
    headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
    signal: AbortSignal.timeout(5_000),
  });
  return { status: response.status, body: await response.text() };
}

async function proves(endpoint: string, key: string): Promise<boolean> {
  const nonce = randomBytes(24).toString('hex');
  const { status, body } = await get(endpoint, `/aiplane/proof?nonce=${nonce}`);
  return status === 200 && body === createHmac('sha256', key).update(`aiplane-proof:${nonce}`).digest('hex');
}

describe('repository recipes, local profile: every workload behind a front that proves its key', () => {
  let jobDir: string;
  // The suite's own port lock: jobs of other suites running beside it (some hold the user's lock
  // for their workload's whole 10 s listen wait) are another node's, not this one's.
  let runtimeDir: string;
  const stops: (() => Promise<void>)[] = [];

  beforeAll(() => {
    for (const sim of ['vllm-sim', 'qdrant-sim'])
      if (!existsSync(join(ROOT, 'dist', 'apps', sim, 'src', 'main.js')))
        throw new Error(`dist/apps/${sim} is missing: run "npm run build" first`);
    runtimeDir = mkdtempSync(join(tmpdir(), 'aiplane-fronts-run-'));
  });
  afterAll(() => {
    rmSync(runtimeDir, { recursive: true, force: true });
  });
  beforeEach(() => {
    jobDir = mkdtempSync(join(tmpdir(), 'aiplane-fronts-'));
  });
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    rmSync(jobDir, { recursive: true, force: true });
  });

  function startJob(path: string, config: ServiceConfigInput, env: Record<string, string>) {
    const recipe = catalogue.resolve(path)!;
    const effective = mergeConfig(recipe, config);
    const script = join(jobDir, 'job.sh');
    writeFileSync(
      script,
      renderBatchScript({ recipe, config: effective, profile: 'local', jobName: 'fronts', jobDir }),
    );
    const log = openSync(join(jobDir, 'job.log'), 'a');
    const child = spawn('bash', [script], {
      env: {
        PATH: process.env.PATH,
        XDG_RUNTIME_DIR: runtimeDir,
        AIPLANE_ENDPOINT_HOST: '127.0.0.1',
        AIPLANE_SIMULATORS_DIR: join(ROOT, 'dist', 'apps'),
        AIPLANE_RUNTIME_DIR: join(ROOT, 'recipes', 'runtime'),
        ...effective.environment,
        ...env,
      },
      stdio: ['ignore', log, log],
      detached: true,
    });
    closeSync(log);
    const done = new Promise<number | null>((r) => child.on('close', r));
    stops.push(async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await done;
      }
    });
    return {
      child,
      done,
      exited: () => child.exitCode !== null || child.signalCode !== null,
      log: () => `job output:\n${readFileSync(join(jobDir, 'job.log'), 'utf8')}`,
    };
  }

  const endpointFile = (name: string) => {
    const file = join(jobDir, name);
    return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  };

  it('Qdrant: the front holds the port and proves the key; the simulator on loopback still checks it', async () => {
    const port = await freeJobPort();
    const job = startJob(
      'vector-db/qdrant',
      { environment: { QDRANT__SERVICE__HOST: '127.0.0.1', QDRANT__SERVICE__HTTP_PORT: String(port) } },
      { QDRANT__SERVICE__API_KEY: NODE_KEY },
    );
    const endpoint = `http://127.0.0.1:${port}`;
    await waitFor(
      'Qdrant answers through its front',
      async () => (await get(endpoint, '/collections', NODE_KEY)).status === 200,
      job,
    );
    expect(endpointFile('endpoint')).toBe(endpoint);
    expect(await proves(endpoint, NODE_KEY)).toBe(true);
    // Qdrant leaves its health probes open; the front does not.
    for (const path of ['/readyz', '/healthz', '/collections'])
      expect({ path, status: (await get(endpoint, path)).status }).toEqual({ path, status: 401 });
    // The simulator's own port, on loopback only, refuses without the key too.
    const inner = innerQdrantPort(jobDir);
    expect(inner).not.toBe(port);
    expect((await get(`http://127.0.0.1:${inner}`, '/collections')).status).toBe(401);
  });

  it("replicas: each proves its own key and refuses a sibling's; one that ends loses its endpoint file", async () => {
    const keys = [replicaKey(0), replicaKey(1)];
    const base = await freeJobPort();
    const job = startJob(
      'inference/vllm-replicas',
      { gpu: '2', gpu_per_replica: 1, environment: { VLLM_HOST: '127.0.0.1', VLLM_PORT: String(base) } },
      { VLLM_API_KEY: NODE_KEY, AIPLANE_REPLICA_API_KEYS: keys.join(',') },
    );
    await waitFor(
      'both replicas publish an endpoint',
      () =>
        Promise.resolve(endpointFile('endpoint.0') !== undefined && endpointFile('endpoint.1') !== undefined),
      job,
    );
    const endpoints = [endpointFile('endpoint.0')!, endpointFile('endpoint.1')!];
    for (const [index, endpoint] of endpoints.entries()) {
      await waitFor(
        `replica ${index} serves`,
        async () => (await get(endpoint, '/v1/models', keys[index])).status === 200,
        job,
      );
      expect(await proves(endpoint, keys[index]!)).toBe(true);
      expect(await proves(endpoint, NODE_KEY)).toBe(false);
      expect((await get(endpoint, '/v1/models', keys[1 - index])).status).toBe(401);
      expect((await get(endpoint, '/v1/models', NODE_KEY)).status).toBe(401);
    }

    // Replica 1's front dies (its port is free for anyone): its endpoint file goes, replica 0 serves on.
    const replica1Port = new URL(endpoints[1]!).port;
    const front = findFront(replica1Port);
    process.kill(front, 'SIGKILL');
    await waitFor(
      'endpoint.1 is removed',
      () => Promise.resolve(endpointFile('endpoint.1') === undefined),
      job,
    );
    expect(endpointFile('endpoint.0')).toBe(endpoints[0]);
    expect((await get(endpoints[0]!, '/v1/models', keys[0])).status).toBe(200);
  });
});

/** The pid of the auth_front.py listening on `port` (from its command line). */
function findFront(port: string): number {
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.some((arg) => arg.endsWith('auth_front.py')) && argv.some((arg) => arg.endsWith(`:${port}`)))
        return Number(entry);
    } catch {
      // Gone meanwhile.
    }
  }
  throw new Error(`no auth_front.py on port ${port}`);
}

/** The port the Qdrant simulator was started on (its environment), behind the front. */
function innerQdrantPort(jobDir: string): number {
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (!argv.includes('qdrant-sim')) continue;
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (!env.includes(`AIPLANE_JOB_DIR=${jobDir}`)) continue;
      const port = env.find((line) => line.startsWith('QDRANT__SERVICE__HTTP_PORT='))?.split('=')[1];
      if (port !== undefined) return Number(port);
    } catch {
      // Gone meanwhile.
    }
  }
  throw new Error('no qdrant-sim process');
}
