import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { SCHEDULER_QUEUE } from '@aiplane/contracts';
import { createRedis } from '@aiplane/registry';
import { infraRedisUrl } from '@aiplane/testing';
import { startOrchestrator, type RunningOrchestrator } from '../testing/orchestrator.harness';

// Issue 11, item 7: the fit check in the orchestrator's create path, through its HTTP API, against
// a real Redis and a stand-in Hugging Face Hub over real HTTP. No worker runs: an accepted create
// is seen as the submission it stores (and the job it enqueues) while it waits for one; the
// records a worker makes of it are the e2e suite's (tests/e2e/fit-check.e2e-spec.ts).
const REDIS_URL = infraRedisUrl();
const GIB = 2 ** 30;

/** A Hub model info with only what the check reads (the real one carries much more). */
function hubModel(id: string, bf16Parameters: number): string {
  return JSON.stringify({ id, safetensors: { parameters: { BF16: bf16Parameters }, total: bf16Parameters } });
}

// 70 GB of weights (35 G parameters in BF16): more than one 40 GB A100, less than two.
const BIG = hubModel('org/big-70gb', 35 * GIB);
// 33 GB: within one A100's 36 GB usable, without 20% headroom for the KV cache.
const TIGHT = hubModel('org/tight-33gb', 16.5 * GIB);

describe('fit check on create (real app, real Redis, stand-in Hub over HTTP)', () => {
  let hub: Server;
  let hubUrl: string;
  const asked: string[] = [];
  let redis: Redis;
  let orchestrator: RunningOrchestrator;
  const prefix = `int-orch-fit-${String(process.pid)}`;

  function answer(req: IncomingMessage, res: ServerResponse): void {
    const { pathname } = new URL(req.url ?? '/', 'http://hub');
    asked.push(pathname);
    const send = (status: number, body: string): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    };
    if (pathname === '/api/models/org/big-70gb') send(200, BIG);
    else if (pathname === '/api/models/org/tight-33gb') send(200, TIGHT);
    else if (pathname === '/api/models/org/silent')
      return; // never answers
    else send(404, JSON.stringify({ error: 'Repository not found' }));
  }

  async function create(body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${orchestrator.api}/services/start`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async function submissions(): Promise<{ warnings?: string[] }[]> {
    const keys = await redis.keys(`${prefix}:submission:*`);
    const texts = await Promise.all(keys.map((key) => redis.get(key)));
    return texts.flatMap((text) => (text === null ? [] : [JSON.parse(text) as { warnings?: string[] }]));
  }

  async function enqueued(): Promise<number> {
    const queue = `${prefix}:bull:${SCHEDULER_QUEUE}`;
    return (await redis.llen(`${queue}:wait`)) + (await redis.zcard(`${queue}:prioritized`));
  }

  /** The warnings a create stored, read while it waits for a worker that never comes. */
  async function storedWarnings(body: unknown): Promise<string[]> {
    const pending = create(body);
    let found: { warnings?: string[] } | undefined;
    for (let i = 0; i < 100 && found === undefined; i += 1) {
      [found] = await submissions();
      if (found === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // No worker: the create is withdrawn and answered 503, leaving nothing behind.
    expect((await pending).status).toBe(503);
    expect(await submissions()).toEqual([]);
    if (found === undefined) throw new Error('the create stored no submission');
    return found.warnings ?? [];
  }

  beforeAll(async () => {
    hub = createServer(answer).listen(0, '127.0.0.1');
    await once(hub, 'listening');
    hubUrl = `http://127.0.0.1:${String((hub.address() as AddressInfo).port)}`;
    redis = createRedis(REDIS_URL);
    orchestrator = await startOrchestrator({
      REDIS_URL,
      REDIS_PREFIX: prefix,
      HF_HUB_URL: hubUrl,
      FIT_HUB_TIMEOUT_MS: '300',
      HF_TIMEOUT_MS: '60000',
      FIT_GPU_MEMORY_GB: 'gpu=40',
      SCHEDULER_WAIT_MS: '300',
    });
  });

  afterAll(async () => {
    await orchestrator.close();
    hub.closeAllConnections();
    hub.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('refuses weights that exceed the GPUs with a 400 giving the numbers, and stores and enqueues nothing', async () => {
    const refused = await create({
      recipe_name: 'inference/vllm-single-node',
      config: { model: 'org/big-70gb', resources: { gpu: 1, partition: 'gpu' } },
    });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      statusCode: 400,
      error: 'Bad Request',
      field: 'resources.gpu',
      fit: { weights_gb: 70, gpus: 1, gpu_memory_gb: 40, partition: 'gpu', usable_gb: 36, min_gpus: 2 },
    });
    expect(refused.body.message).toBe(
      'Model org/big-70gb does not fit: its weights alone are 70.0 GB, but the service has 1 GPU: 1 GPU × 40 GB on partition gpu = 40.0 GB, of which vLLM may use 36.0 GB (gpu_memory_utilization 0.9). Nothing was submitted; give it at least 2 GPUs (resources.gpu), or choose a smaller or quantized model.',
    );
    // A group is checked per replica: 4 GPUs of 1 each hold no more than one GPU.
    const group = await create({
      recipe_name: 'inference/vllm-replicas',
      config: { model: 'org/big-70gb', resources: { gpu: 4, partition: 'gpu' }, gpu_per_replica: 1 },
    });
    expect(group.status).toBe(400);
    expect(group.body).toMatchObject({ field: 'gpu_per_replica', fit: { gpus: 1, min_gpus: 2 } });
    expect(await redis.keys(`${prefix}:submission:*`)).toEqual([]);
    expect(await enqueued()).toBe(0);
  });

  it('accepts a model that fits only without KV-cache headroom, the warning stored with the submission', async () => {
    const warnings = await storedWarnings({
      recipe_name: 'inference/vllm-single-node',
      config: { model: 'org/tight-33gb', resources: { gpu: 1, partition: 'gpu' } },
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^Model org\/tight-33gb fits only without enough KV-cache headroom: the service has 1 GPU \(1 GPU × 40 GB on partition gpu = 40\.0 GB\), of which vLLM may use 36\.0 GB .* need 40\.6 GB\./,
    );
    // Two of them leave room: no warning.
    expect(
      await storedWarnings({
        recipe_name: 'inference/vllm-single-node',
        config: { model: 'org/tight-33gb', resources: { gpu: 2, partition: 'gpu' } },
      }),
    ).toEqual([]);
  });

  it('passes a model of unknown size, and one the Hub is silent about, with a warning', async () => {
    const unknown = await storedWarnings({
      recipe_name: 'inference/vllm-single-node',
      config: { model: 'org/not-on-the-hub', gpu: 1 },
    });
    expect(unknown).toEqual([
      "Model org/not-on-the-hub: its size is unknown, so whether it fits 1 GPU was not checked (the Hugging Face Hub does not show org/not-on-the-hub; a private or gated model needs the orchestrator's HF_TOKEN)",
    ]);
    const silent = await storedWarnings({
      recipe_name: 'inference/vllm-single-node',
      config: { model: 'org/silent', gpu: 1 },
    });
    expect(silent).toEqual([
      'Model org/silent: its size is unknown, so whether it fits 1 GPU was not checked (The Hugging Face Hub is unreachable: no answer within 300 ms)',
    ]);
    // Bounded by FIT_HUB_TIMEOUT_MS (300 ms), not HF_TIMEOUT_MS (a minute here): the create went on.
    // For a while the Hub is not asked again, yet what it already answered still counts.
    const before = asked.length;
    expect(
      await storedWarnings({
        recipe_name: 'inference/vllm-single-node',
        config: { model: 'org/other', gpu: 1 },
      }),
    ).toEqual([expect.stringContaining('(The Hugging Face Hub is unreachable: no answer within 300 ms)')]);
    expect(
      await storedWarnings({
        recipe_name: 'inference/vllm-single-node',
        config: { model: 'org/tight-33gb', gpu: 2 },
      }),
    ).toEqual([]);
    expect(asked.length).toBe(before);
  });

  it('checks no CPU-only service and no vector database against GPUs', async () => {
    const before = asked.length;
    expect(
      await storedWarnings({
        recipe_name: 'inference/vllm-single-node',
        config: { model: 'org/big-70gb', gpu: null },
      }),
    ).toEqual([]);
    expect(
      await storedWarnings({ recipe_name: 'vector-db/qdrant', config: { resources: { gpu: 1 } } }),
    ).toEqual([]);
    expect(asked.length).toBe(before);
  });
});
