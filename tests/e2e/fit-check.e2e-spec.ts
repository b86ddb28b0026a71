import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { withStack } from '@aiplane/testing';

// Issue 11, item 7, end to end through the gateway: the fit check's 400 reaches the researcher with
// its numbers, and its warnings reach the records the worker writes (single services and groups).
// Local executor: nothing here waits in a SLURM queue, and every service is cancelled at once.
const GIB = 2 ** 30;

type Json = Record<string, unknown>;

/** A stand-in Hub knowing two models: 70 GB and 33 GB of BF16 weights. */
async function startHub(): Promise<{ url: string; close: () => void }> {
  const sizes: Readonly<Record<string, number>> = { 'org/big-70gb': 70, 'org/tight-33gb': 33 };
  const server: Server = createServer((req, res) => {
    const id = new URL(req.url ?? '/', 'http://hub').pathname.replace(/^\/api\/models\//, '');
    const gb = sizes[id];
    res.writeHead(gb === undefined ? 404 : 200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify(
        gb === undefined
          ? { error: 'Repository not found' }
          : { id, safetensors: { parameters: { BF16: (gb * GIB) / 2 } } },
      ),
    );
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

describe('fit check through the gateway (local executor, stand-in Hub)', () => {
  let hub: { url: string; close: () => void } | undefined;

  beforeAll(async () => {
    hub = await startHub();
  });

  const { api } = withStack(() => ({
    label: 'fit-check',
    scheduler: 'local',
    ports: { gateway: 0 },
    env: {
      HF_HUB_URL: hub?.url ?? 'http://127.0.0.1:9',
      FIT_GPU_MEMORY_GB: 'gpu=40',
      SLURM_PARTITION: 'gpu',
    },
  }));

  afterAll(() => {
    hub?.close();
  });

  async function cancel(id: string): Promise<void> {
    const answer = await api('POST', `/api/v1/services/${id}/status`, { status: 'cancelled' });
    expect(answer.status).toBe(200);
  }

  it('refuses a model whose weights exceed its GPUs with 400 and the numbers; nothing is listed', async () => {
    const refused = await api<Json>('POST', '/api/v1/services', {
      recipe_name: 'vllm-single-node',
      config: { model: 'org/big-70gb', gpu: 1 },
    });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      statusCode: 400,
      field: 'resources.gpu',
      fit: { weights_gb: 70, gpus: 1, gpu_memory_gb: 40, partition: 'gpu', usable_gb: 36, min_gpus: 2 },
    });
    expect(refused.body.message).toMatch(
      /^Model org\/big-70gb does not fit: its weights alone are 70\.0 GB, but the service has 1 GPU: 1 GPU × 40 GB on partition gpu = 40\.0 GB, of which vLLM may use 36\.0 GB/,
    );
    const listed = await api<Json[]>('GET', '/api/v1/services');
    expect(listed.body).toEqual([]);
  });

  it('accepts a model without enough KV-cache headroom, the warning in the record; a group warns per replica', async () => {
    const created = await api<Json>('POST', '/api/v1/services', {
      recipe_name: 'vllm-single-node',
      config: { model: 'org/tight-33gb', gpu: 1 },
    });
    expect(created.status).toBe(200);
    const id = String(created.body.id);
    const [warning] = created.body.warnings as string[];
    expect(warning).toMatch(/^Model org\/tight-33gb fits only without enough KV-cache headroom: /);
    expect((await api<Json>('GET', `/api/v1/services/${id}`)).body.warnings).toEqual([warning]);

    const group = await api<Json>('POST', '/api/v1/services', {
      recipe_name: 'vllm-replicas',
      config: { model: 'org/tight-33gb', gpu: 2, gpu_per_replica: 1 },
    });
    expect(group.status).toBe(200);
    expect(group.body.warnings).toEqual([expect.stringMatching(/each replica has 1 GPU/)]);
    const groupId = String(group.body.id);
    expect((await api<Json>('GET', `/api/v1/service-groups/${groupId}`)).body.warnings).toEqual(
      group.body.warnings,
    );

    // A model that fits has none; so has a CPU-only one, however big.
    const roomy = await api<Json>('POST', '/api/v1/services', {
      recipe_name: 'vllm-single-node',
      config: { model: 'org/tight-33gb', gpu: 2 },
    });
    const cpu = await api<Json>('POST', '/api/v1/services', {
      recipe_name: 'vllm-single-node',
      config: { model: 'org/big-70gb', gpu: null },
    });
    expect([roomy.status, roomy.body.warnings, cpu.status, cpu.body.warnings]).toEqual([200, [], 200, []]);
    for (const one of [id, groupId, String(roomy.body.id), String(cpu.body.id)]) await cancel(one);
  });
});
