import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { createRedis, ServiceRegistry } from '@aiplane/registry';
import { ROOT, slurmJobsUnder, waitForStatus, withStack } from '@aiplane/testing';

/**
 * The cluster profile itself, as it would run on MeluXina, on this machine's real SLURM: the batch
 * script the worker renders for `RUNTIME_PROFILE=cluster`, its `module load`, its Apptainer command
 * lines, the private Unix socket, the auth front and the per-job key. Only `apptainer` and `module`
 * are stand-ins (tests/fixtures/apptainer-standin, first on the jobs' PATH): they check each command
 * line against Apptainer 1.3's documented options and the pinned images, then run the simulator
 * in the container's place. docs/cluster-profile.md says what this cannot prove.
 */
const STANDIN_DIR = join(ROOT, 'tests', 'fixtures', 'apptainer-standin');
const VLLM_IMAGE = 'docker://vllm/vllm-openai:v0.11.0';

interface Call {
  argv: string[];
  ok: boolean;
  error?: string;
  program?: string;
  nv?: boolean;
  binds?: { src: string; dest: string; opts: string }[];
}

interface ServiceRecord {
  id: string;
  status: string;
  endpoint: string | null;
  job_id: string;
}

describe('cluster profile on real SLURM, Apptainer stood in for', () => {
  const suite = withStack(() => ({
    label: 'cluster-profile',
    scheduler: 'slurm',
    runtimeProfile: 'cluster',
    ports: { gateway: 0 },
    env: { PATH: `${STANDIN_DIR}:${process.env.PATH ?? '/usr/bin:/bin'}` },
  }));
  const { api } = suite;
  // CPU-only and small, so the shared node's GPUs stay free for the other suites.
  const small = { cpu: 1, memory: '1G', gpu: 0, time_limit: 10 };

  async function create(body: unknown): Promise<ServiceRecord> {
    const response = await api<ServiceRecord>('POST', '/api/v1/services', body);
    expect(response.status).toBe(200);
    return response.body;
  }

  async function record(id: string): Promise<ServiceRecord> {
    return (await api<ServiceRecord>('GET', `/api/v1/services/${id}`)).body;
  }

  /** The job's directory (its SLURM working directory) and what the stand-ins logged there. */
  function jobFiles(jobId: string) {
    const job = slurmJobsUnder(suite.stateDir).find((entry) => entry.id === jobId);
    if (job === undefined) throw new Error(`SLURM does not list job ${jobId} under ${suite.stateDir}`);
    const read = (name: string) => {
      const file = join(job.workDir, name);
      return existsSync(file) ? readFileSync(file, 'utf8') : '';
    };
    const calls = read('apptainer-standin.log')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Call);
    return { dir: job.workDir, calls, modules: read('module-standin.log') };
  }

  it('serves gpt2 through the normal API, with the binds, socket, front and key of the cluster script', async () => {
    const service = await create({
      recipe_name: 'inference/vllm-single-node',
      config: { model: 'gpt2', ...small },
    });
    const { seen } = await waitForStatus(api, service.id, ['running', 'failed']);
    const running = await record(service.id);
    const { dir, calls, modules } = jobFiles(running.job_id);
    expect({ seen: seen.at(-1), calls }).toMatchObject({ seen: 'running' });

    const prompt = await api('POST', `/api/v1/vllm/${service.id}/prompt`, {
      prompt: 'Write a short haiku about AI',
      max_tokens: 16,
    });
    expect(prompt.status).toBe(200);
    expect(prompt.body).toMatchObject({ success: true, endpoint_used: 'completions', model: 'gpt2' });

    // The recipe's own module list was loaded, and both Apptainer calls passed the stand-in's checks.
    expect(modules).toBe('load Apptainer\n');
    // Server and front start together: their calls come in either order.
    const server = calls.find((call) => call.program === 'vllm');
    const front = calls.find((call) => call.program === 'python3');
    if (server === undefined || front === undefined) throw new Error(`calls: ${JSON.stringify(calls)}`);
    expect(calls.map((call) => call.ok)).toEqual([true, true]);
    const uds = server.argv.find((word) => word.startsWith('--uds='))?.slice('--uds='.length) ?? '';
    const socketDir = dirname(uds);
    // No --nv without GPUs, the job directory and the socket's directory bound, and no
    // --max-model-len: gpt2 runs with its own 1024 (the recipe used to force 4096, which vLLM refuses).
    expect(server.argv).toEqual([
      'exec',
      '--bind',
      dir,
      '--bind',
      socketDir,
      VLLM_IMAGE,
      'vllm',
      'serve',
      `--uds=${uds}`,
      '--model=gpt2',
      '--tensor-parallel-size=1',
      '--gpu-memory-utilization=0.9',
    ]);
    expect(front.argv).toEqual([
      'exec',
      '--bind',
      socketDir,
      '--bind',
      join(ROOT, 'recipes', 'runtime'),
      VLLM_IMAGE,
      'python3',
      join(ROOT, 'recipes', 'runtime', 'auth_front.py'),
      expect.stringMatching(/^--listen=0\.0\.0\.0:\d+$/),
      `--upstream-unix=${uds}`,
    ]);
    // The server's socket is in a directory only the job's user may enter.
    expect(statSync(socketDir).mode & 0o777).toBe(0o700);
    expect(statSync(uds).isSocket()).toBe(true);
    const models = await api<{ data: { id: string; max_model_len?: number }[] }>(
      'GET',
      `/api/v1/vllm/${service.id}/models`,
    );
    expect(JSON.stringify(models.body)).toContain('"max_model_len":1024');

    // The front on the published port: nothing without the job's key, everything with it.
    const endpoint = running.endpoint ?? '';
    expect(front.argv.at(-2)).toBe(`--listen=0.0.0.0:${new URL(endpoint).port}`);
    for (const path of ['/v1/models', '/tokenize', '/metrics']) {
      const open = await fetch(`${endpoint}${path}`, { signal: AbortSignal.timeout(10_000) });
      expect({ path, status: open.status }).toEqual({ path, status: 401 });
    }
    const redis = createRedis(suite.infra.redisUrl);
    const key = (await new ServiceRegistry(redis, suite.redisPrefix).get(service.id))?.api_key ?? '';
    redis.disconnect();
    const holder = await fetch(`${endpoint}/v1/models`, {
      headers: { authorization: `Bearer ${key}` },
      signal: AbortSignal.timeout(10_000),
    });
    expect(holder.status).toBe(200);
    // The key reached the workloads through the environment only: argv is world-readable in /proc.
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(calls.flatMap((call) => call.argv).filter((word) => word.includes(key))).toEqual([]);

    expect((await api('POST', `/api/v1/services/${service.id}/status`, { status: 'cancelled' })).status).toBe(
      200,
    );
  });

  it("fails a gpt2 service asked for a 4096-token context, in vLLM's words, as the cluster would", async () => {
    const service = await create({
      recipe_name: 'inference/vllm-single-node',
      config: { model: 'gpt2', max_model_len: 4096, ...small },
    });
    await waitForStatus(api, service.id, ['failed']);
    const { calls } = jobFiles((await record(service.id)).job_id);
    expect(calls.find((call) => call.program === 'vllm')?.argv.at(-1)).toBe('--max-model-len=4096');
    const logs = await api<{ logs: string }>('GET', `/api/v1/services/${service.id}/logs`);
    expect(logs.body.logs).toContain(
      "User-specified max_model_len (4096) is greater than the derived max_model_len (n_positions=1024 or model_max_length=None in model's config.json)",
    );
  });

  it('runs Qdrant from its image with its storage bound, and keeps the data it is given', async () => {
    const db = await create({ recipe_name: 'vector-db/qdrant', config: small });
    await waitForStatus(api, db.id, ['running']);
    const base = `/api/v1/vector-db/${db.id}/collections/docs`;
    expect((await api('PUT', base, { vector_size: 2, distance: 'Cosine' })).status).toBe(200);
    const upsert = await api('PUT', `${base}/points`, {
      points: [{ id: 1, vector: [0.1, 0.9], payload: { t: 'a' } }],
    });
    expect(upsert.status).toBe(200);
    const search = await api<{ results: { id: unknown }[] }>('POST', `${base}/points/search`, {
      query_vector: [0.1, 0.9],
      limit: 1,
    });
    expect(search.body.results.map((hit) => hit.id)).toEqual([1]);

    const { dir, calls } = jobFiles((await record(db.id)).job_id);
    // The Qdrant image has no Python: its front runs on the node's python3, outside Apptainer.
    expect(calls.map((call) => [call.ok, call.program])).toEqual([[true, '/qdrant/qdrant']]);
    expect(calls[0]?.argv).toEqual([
      'exec',
      '--bind',
      dir,
      '--writable-tmpfs',
      '--cwd',
      '/qdrant',
      'docker://qdrant/qdrant:v1.18.2',
      '/qdrant/qdrant',
    ]);
    expect(existsSync(join(dir, 'qdrant', 'storage'))).toBe(true);
    expect((await api('POST', `/api/v1/services/${db.id}/status`, { status: 'cancelled' })).status).toBe(200);
  });
});
