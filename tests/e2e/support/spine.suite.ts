import {
  DOCUMENT_CLIENT_CREATE_REQUESTS,
  DOCUMENT_CREATE_REQUESTS,
  DOCUMENT_EXAMPLES_VLLM_REFUSES,
} from '@aiplane/contracts';
import { createRedis, ServiceRegistry } from '@aiplane/registry';
import type { StackOptions } from '@aiplane/stack';
import {
  apiClient,
  scontrolShowJob,
  squeueActive,
  waitForStatus,
  waitUntil,
  withStack,
} from '@aiplane/testing';

interface Record_ {
  id: string;
  name: string;
  recipe_name: string;
  status: string;
  config: Record<string, unknown>;
  created_at: string;
  updated_at: string;
  endpoint: string | null;
  job_id: string;
  type: string;
}

/** One entry of Prometheus HTTP service discovery. */
interface SdTargetGroup {
  targets: string[];
  labels: Record<string, string | undefined>;
}

export interface SpineSuiteOptions {
  label: string;
  scheduler: StackOptions['scheduler'];
  viaSsh: boolean;
  ports: { gateway: number; orchestrator: number };
}

const ISO_WITH_ZONE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

/**
 * The spine of the product, driven through the gateway as a researcher would: create, watch it
 * become ready, prompt it, cancel it, and the document's request variants.
 */
export function describeSpine(options: SpineSuiteOptions): void {
  describe(`spine: ${options.label}`, () => {
    const suite = withStack(() => ({
      label: options.label,
      scheduler: options.scheduler,
      ssh: options.viaSsh,
      ports: options.ports,
    }));
    const { api } = suite;
    const onSlurm = options.scheduler === 'slurm';

    async function create(body: unknown): Promise<Record_> {
      const response = await api<Record_>('POST', '/api/v1/services', body);
      expect(response.status).toBe(200);
      return response.body;
    }

    async function cancel(id: string): Promise<void> {
      const response = await api('POST', `/api/v1/services/${id}/status`, { status: 'cancelled' });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        success: true,
        message: `Service ${id} status updated to cancelled`,
        service_id: id,
        status: 'cancelled',
      });
    }

    it('creates the default vLLM service, serves a prompt, and cancels it keeping the record', async () => {
      const created = await create({ recipe_name: 'inference/vllm-single-node' });
      expect(created).toMatchObject({
        id: expect.stringMatching(/^[0-9]+$/),
        name: `inference/vllm-single-node-${created.id}`,
        recipe_name: 'inference/vllm-single-node',
        status: 'pending',
        config: {},
        endpoint: null,
        job_id: created.id,
        type: 'service',
      });
      expect(created.created_at).toMatch(ISO_WITH_ZONE);
      if (onSlurm) expect(squeueActive(created.id)).toContain(created.id);

      const { seen } = await waitForStatus(api, created.id, ['running']);
      expect(seen[seen.length - 1]).toBe('running');
      expect(seen.every((status) => ['pending', 'configuring', 'running'].includes(status))).toBe(true);
      if (onSlurm) expect(squeueActive(created.id)).toMatch(/RUNNING/);

      const detail = await api<Record_>('GET', `/api/v1/services/${created.id}`);
      expect(detail.status).toBe(200);
      expect(detail.body.status).toBe('running');
      expect(detail.body.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:[0-9]+$/);

      const list = await api<Record_[]>('GET', '/api/v1/services');
      expect(list.body.map((service) => service.id)).toContain(created.id);
      const vllm = await api<{ vllm_services: { id: string; status: string }[] }>(
        'GET',
        '/api/v1/vllm/services',
      );
      expect(vllm.body.vllm_services).toContainEqual(
        expect.objectContaining({ id: created.id, status: 'running' }),
      );

      const models = await api<{ success: boolean; models: string[]; data: { id: string }[] }>(
        'GET',
        `/api/v1/vllm/${created.id}/models`,
      );
      expect(models.status).toBe(200);
      expect(models.body.models).toEqual(['Qwen/Qwen2.5-0.5B-Instruct']);
      expect(models.body.data[0]?.id).toBe('Qwen/Qwen2.5-0.5B-Instruct');

      const prompt = await api('POST', `/api/v1/vllm/${created.id}/prompt`, {
        prompt: 'Tell me a joke about programming',
        max_tokens: 100,
      });
      expect(prompt.status).toBe(200);
      expect(prompt.body).toMatchObject({
        success: true,
        text: expect.any(String),
        service_id: created.id,
        endpoint_used: 'chat',
        model: 'Qwen/Qwen2.5-0.5B-Instruct',
        usage: {
          prompt_tokens: expect.any(Number),
          completion_tokens: expect.any(Number),
          total_tokens: expect.any(Number),
        },
      });
      expect(prompt.body.response).toBe(prompt.body.text);
      expect((prompt.body.text as string).length).toBeGreaterThan(0);

      const logs = await api<{ logs: string }>('GET', `/api/v1/services/${created.id}/logs`);
      expect(logs.status).toBe(200);
      expect(logs.body.logs).toContain('=== STDOUT ===');
      expect(logs.body.logs).toContain('=== STDERR ===');

      // logs?follow=true: the last lines, then each new one as the job writes it, until the job ends.
      const follow = await fetch(
        `${suite.stack.gatewayUrl}/api/v1/services/${created.id}/logs?lines=5&follow=true`,
      );
      expect({ status: follow.status, body: follow.status === 200 ? '' : await follow.text() }).toEqual({
        status: 200,
        body: '',
      });
      expect(follow.headers.get('content-type')).toMatch(/^text\/plain/);
      const reader = follow.body!.getReader();
      const decoder = new TextDecoder();
      let followed = '';
      const readUntil = async (done: (text: string) => boolean, ms: number): Promise<boolean> => {
        const deadline = Date.now() + ms;
        while (!done(followed) && Date.now() < deadline) {
          const chunk = await Promise.race([
            reader.read(),
            new Promise<'later'>((resolve) =>
              setTimeout(() => {
                resolve('later');
              }, deadline - Date.now()),
            ),
          ]);
          if (chunk === 'later') break;
          if (chunk.done) return true;
          followed += decoder.decode(chunk.value as Uint8Array, { stream: true });
        }
        return false;
      };
      await readUntil((text) => text.includes('=== STDERR ==='), 10_000);
      expect(followed).toContain('=== STDOUT ===');
      const before = followed.split('vllm-sim: POST').length;
      const marker = await api('POST', `/api/v1/vllm/${created.id}/prompt`, {
        prompt: 'follow me',
        max_tokens: 5,
      });
      expect(marker.status).toBe(200);
      // The request the simulator logged after the stream began arrives on it.
      await readUntil((text) => text.split('vllm-sim: POST').length > before, 15_000);
      expect(followed.split('vllm-sim: POST').length).toBeGreaterThan(before);

      await cancel(created.id);
      // The stream ends by itself once the job has ended.
      expect(await readUntil(() => false, 20_000)).toBe(true);
      const after = await api<Record_>('GET', `/api/v1/services/${created.id}`);
      expect(after.body.status).toBe('cancelled');
      // scancel returns at once; SLURM lists the job as COMPLETING while its processes are killed.
      if (onSlurm) await waitUntil(() => squeueActive(created.id) === '', 15_000);
      // Cancelling twice is fine, and the record stays.
      const again = await api('POST', `/api/v1/services/${created.id}/status`, { status: 'cancelled' });
      expect(again.status).toBe(200);
      const notReady = await api('POST', `/api/v1/vllm/${created.id}/prompt`, { prompt: 'hello' });
      expect(notReady.status).toBe(503);
      expect(notReady.body).toMatchObject({ success: false, status: 'cancelled' });
    });

    it('runs a custom model without a chat template through the completions endpoint', async () => {
      const created = await create({
        recipe_name: 'inference/vllm-single-node',
        config: { environment: { VLLM_MODEL: 'gpt2' } },
      });
      expect(created.config).toEqual({ environment: { VLLM_MODEL: 'gpt2' } });
      await waitForStatus(api, created.id, ['running']);
      const prompt = await api('POST', `/api/v1/vllm/${created.id}/prompt`, {
        prompt: 'Write a short haiku about AI',
        model: 'gpt2',
        max_tokens: 64,
        temperature: 0.7,
      });
      expect(prompt.status).toBe(200);
      expect(prompt.body).toMatchObject({ success: true, endpoint_used: 'completions', model: 'gpt2' });
      await cancel(created.id);
    });

    it('passes every requested resource to the scheduler (custom resources, all options, CPU-only)', async () => {
      const variants = [
        {
          request: DOCUMENT_CREATE_REQUESTS.custom_model_and_resources.body,
          expect: { cpus: 8, memory: '64G', time: '02:00:00', gpus: 4 },
        },
        {
          request: DOCUMENT_CREATE_REQUESTS.all_options.body,
          expect: { cpus: 2, memory: '32G', time: '00:15:00', gpus: 4 },
          refused: DOCUMENT_EXAMPLES_VLLM_REFUSES.all_options,
        },
        {
          request: DOCUMENT_CREATE_REQUESTS.cpu_only.body,
          expect: { cpus: 4, memory: '16G', time: undefined, gpus: 0 },
        },
      ];
      for (const variant of variants) {
        const created = await create(variant.request);
        if (onSlurm) {
          const job = scontrolShowJob(created.id);
          expect(job).toMatch(new RegExp(`NumCPUs=${variant.expect.cpus}\\b`));
          expect(job).toMatch(new RegExp(`MinMemoryNode=${variant.expect.memory}\\b`));
          if (variant.expect.time) expect(job).toMatch(new RegExp(`TimeLimit=${variant.expect.time}\\b`));
          // SLURM 22.05 shows `TresPerNode=gres:gpu:4`; newer versions `gres/gpu=4`.
          if (variant.expect.gpus > 0)
            expect(job).toMatch(new RegExp(`gres[:/]gpu[:=]${variant.expect.gpus}\\b`));
          else expect(job).not.toMatch(/gres[:/]gpu/);
        }
        if ('refused' in variant) {
          // Scheduled as asked, then refused by vLLM itself: the user reads why in the logs.
          await waitForStatus(api, created.id, ['failed']);
          const logs = await api<{ logs: string }>('GET', `/api/v1/services/${created.id}/logs`);
          expect(logs.body.logs).toContain('max_model_len (2048) is greater than the derived max_model_len');
          continue;
        }
        await waitForStatus(api, created.id, ['running']);
        const prompt = await api('POST', `/api/v1/vllm/${created.id}/prompt`, {
          prompt: 'hello',
          max_tokens: 8,
        });
        expect({ status: prompt.status, body: prompt.body }).toMatchObject({ status: 200 });
        await cancel(created.id);
      }
    });

    it("keeps each workload's API key inside the control plane: direct calls are refused, records and logs never show it", async () => {
      const created = await create({ recipe_name: 'inference/vllm-single-node' });
      await waitForStatus(api, created.id, ['running']);
      const detail = await api<Record_>('GET', `/api/v1/services/${created.id}`);
      const endpoint = detail.body.endpoint ?? '';
      expect(endpoint).toMatch(/^http:\/\/[^/]+:[0-9]+$/);

      // A neighbour on the cluster reaches the node but holds no key.
      const direct = await fetch(`${endpoint}/v1/models`, { signal: AbortSignal.timeout(10_000) });
      expect(direct.status).toBe(401);
      // vLLM's own key check leaves /invocations (the same prompts as /v1) open; the job's auth
      // front does not, nor any other path.
      const invocation = await fetch(`${endpoint}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'hello' }], max_tokens: 8 }),
        signal: AbortSignal.timeout(10_000),
      });
      expect(invocation.status).toBe(401);
      for (const path of ['/tokenize', '/metrics', '/health', '/version']) {
        const open = await fetch(`${endpoint}${path}`, { signal: AbortSignal.timeout(10_000) });
        expect({ path, status: open.status }).toEqual({ path, status: 401 });
      }
      const prompt = await api('POST', `/api/v1/vllm/${created.id}/prompt`, {
        prompt: 'hello',
        max_tokens: 8,
      });
      expect(prompt.status).toBe(200);

      // The key as the worker stored it, read behind the API's back: it is what the workload accepts.
      const redis = createRedis(suite.infra.redisUrl);
      const key = (await new ServiceRegistry(redis, suite.redisPrefix).get(created.id))?.api_key ?? '';
      redis.disconnect();
      expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const holder = await fetch(`${endpoint}/v1/models`, {
        headers: { authorization: `Bearer ${key}` },
        signal: AbortSignal.timeout(10_000),
      });
      expect(holder.status).toBe(200);
      const holderInvocation = await fetch(`${endpoint}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'hello' }], max_tokens: 8 }),
        signal: AbortSignal.timeout(10_000),
      });
      expect(holderInvocation.status).toBe(200);

      // What a Prometheus would do with discovery: scrape each target as given, holding no key. The
      // targets are the gateway's metrics routes, which add the key, not the workloads' own ports,
      // and the control plane's own apps, whose metrics must not show the key either.
      const discovered = await api<SdTargetGroup[]>('GET', '/api/v1/services/targets');
      expect(discovered.status).toBe(200);
      const gatewayHost = new URL(suite.stack.gatewayUrl).host;
      expect(discovered.body).toContainEqual({
        targets: [gatewayHost],
        labels: {
          __metrics_path__: `/api/v1/services/${created.id}/metrics`,
          service_id: created.id,
          recipe_name: 'inference/vllm-single-node',
          kind: 'vllm',
        },
      });
      const scraped: string[] = [];
      for (const group of discovered.body) {
        const scheme = group.labels.__scheme__ ?? 'http';
        for (const target of group.targets) {
          const scrape = await fetch(`${scheme}://${target}${group.labels.__metrics_path__ ?? '/metrics'}`, {
            // What Prometheus 2.x sends.
            headers: {
              accept:
                'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,' +
                'text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
            },
            signal: AbortSignal.timeout(10_000),
          });
          const text = await scrape.text();
          expect({ target, status: scrape.status }).toEqual({ target, status: 200 });
          expect(scrape.headers.get('content-type')).toContain('text/plain');
          // The control plane's own apps are listed too, each labelling its series with its name.
          expect(text).toContain(
            group.labels.kind === 'control-plane'
              ? `app="${group.labels.app ?? ''}"`
              : `service_id="${group.labels.service_id ?? ''}"`,
          );
          scraped.push(text);
        }
      }
      expect(scraped.join('\n')).toMatch(
        new RegExp(`^vllm:[a-z_]+\\{[^}]*service_id="${created.id}",replica_id="${created.id}:[0-9]+"`, 'm'),
      );

      const shown = [
        detail.body,
        (await api('GET', '/api/v1/services')).body,
        (await api('GET', '/api/v1/vllm/services')).body,
        (await api('GET', `/api/v1/services/${created.id}/status`)).body,
        discovered.body,
        prompt.body,
      ].map((body) => JSON.stringify(body));
      const jobLogs = await api<{ logs: string }>('GET', `/api/v1/services/${created.id}/logs`);
      expect(jobLogs.status).toBe(200);
      for (const text of [...shown, ...scraped, jobLogs.body.logs]) {
        expect(text).not.toContain(key);
        expect(text).not.toContain('api_key');
      }
      expect(suite.logs.map(({ line }) => line).join('\n')).not.toContain(key);
      await cancel(created.id);
    });

    it('lets only holders of the bearer token call the orchestrator directly', async () => {
      const direct = apiClient(suite.stack.orchestratorUrl);
      const anonymous = await direct<{ statusCode: number; message: string }>('GET', '/api/services');
      expect(anonymous.status).toBe(401);
      expect(anonymous.body.message).toContain('Bearer');
      const wrong = await direct('GET', '/api/services', undefined, {
        authorization: 'Bearer not-the-token',
      });
      expect(wrong.status).toBe(401);
      const holder = await direct('GET', '/api/services', undefined, {
        authorization: `Bearer ${suite.stack.orchestratorToken}`,
      });
      expect(holder.status).toBe(200);
    });

    it("runs the document's clients' flows with exactly their requests: flat config shortcuts, 200 on create", async () => {
      // Those scripts wait for /health and then create at once: by then a create must be accepted.
      expect((await api('GET', '/health')).status).toBe(200);
      expect((await api('GET', '/ready')).status).toBe(200);
      const { client_vllm: vllm, client_qdrant: qdrant } = DOCUMENT_CLIENT_CREATE_REQUESTS;

      // create → wait → prompt → cancel. They stop on `status_code != 200`.
      const inference = await api<Record_>('POST', '/api/v1/services', vllm.body);
      expect({ status: inference.status, body: inference.body }).toMatchObject({
        status: 200,
        // The record keeps the config as sent, shortcuts and all.
        body: { recipe_name: 'inference/vllm-single-node', status: 'pending', config: vllm.body.config },
      });
      const id = inference.body.id;
      if (onSlurm) {
        const job = scontrolShowJob(id);
        expect(job).toMatch(/NumCPUs=2\b/);
        expect(job).toMatch(/MinMemoryNode=16G\b/);
        expect(job).toMatch(/TimeLimit=00:30:00\b/);
        expect(job).toMatch(/gres[:/]gpu[:=]1\b/);
      }
      await waitForStatus(api, id, ['running']);
      const models = await api<{ models: string[]; data: { id: string; max_model_len?: number }[] }>(
        'GET',
        `/api/v1/vllm/${id}/models`,
      );
      expect(models.status).toBe(200);
      expect(models.body.models).toEqual([vllm.body.config.model]);
      // max_model_len reached the workload as VLLM_MAX_MODEL_LEN, which it reports back.
      expect(models.body.data[0]?.max_model_len).toBe(vllm.body.config.max_model_len);
      const prompt = await api<{ success: boolean; text: string; model: string }>(
        'POST',
        `/api/v1/vllm/${id}/prompt`,
        { prompt: 'Tell me a joke about programming', max_tokens: 100 },
      );
      expect({ status: prompt.status, body: prompt.body }).toMatchObject({
        status: 200,
        body: { success: true, text: expect.any(String), model: vllm.body.config.model },
      });
      await cancel(id);

      // Qdrant: create → collection → upsert → search → cancel.
      const vectors = await api<Record_>('POST', '/api/v1/services', qdrant.body);
      expect({ status: vectors.status, body: vectors.body }).toMatchObject({
        status: 200,
        body: { recipe_name: 'vector-db/qdrant', config: { nodes: 1, memory: '16G' } },
      });
      const db = vectors.body.id;
      if (onSlurm) expect(scontrolShowJob(db)).toMatch(/MinMemoryNode=16G\b/);
      await waitForStatus(api, db, ['running']);
      const base = `/api/v1/vector-db/${db}/collections/my_documents`;
      const collection = await api('PUT', base, { vector_size: 4, distance: 'Cosine' });
      expect({ status: collection.status, body: collection.body }).toMatchObject({ status: 200 });
      const upsert = await api('PUT', `${base}/points`, {
        points: [
          { id: 1, vector: [0.1, 0.2, 0.3, 0.4], payload: { text: 'First document' } },
          { id: 2, vector: [0.4, 0.3, 0.2, 0.1], payload: { text: 'Second document' } },
          { id: 'readme-intro', vector: [0.1, 0.2, 0.3, 0.5], payload: { text: 'Readme' } },
        ],
      });
      expect({ status: upsert.status, body: upsert.body }).toMatchObject({ status: 200 });
      const search = await api<{ success: boolean; results: { id: unknown; score: number }[] }>(
        'POST',
        `${base}/points/search`,
        { query_vector: [0.1, 0.2, 0.3, 0.4], limit: 2 },
      );
      expect(search.status).toBe(200);
      expect(search.body.success).toBe(true);
      expect(search.body.results.map((hit) => hit.id)).toEqual([1, 'readme-intro']);
      await cancel(db);
    });

    it('refuses bad requests with a clear 4xx and changes nothing', async () => {
      const before = await api<Record_[]>('GET', '/api/v1/services');
      const unknownRecipe = await api<{ message: string }>('POST', '/api/v1/services', {
        recipe_name: 'inference/nope',
      });
      expect(unknownRecipe.status).toBe(404);
      expect(unknownRecipe.body.message).toContain('inference/vllm-single-node');
      const unknownField = await api<{ statusCode: number; error: string; message: string }>(
        'POST',
        '/api/v1/services',
        {
          recipe_name: 'inference/vllm-single-node',
          colour: 'blue',
        },
      );
      expect(unknownField.status).toBe(400);
      expect(unknownField.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expect(unknownField.body.message).toContain('colour');
      const badStatus = await api<{ message: string }>('POST', `/api/v1/services/1/status`, {
        status: 'running',
      });
      expect(badStatus.status).toBe(400);
      expect(badStatus.body.message).toContain('cancelled');
      const missing = await api('GET', '/api/v1/services/999999999');
      expect(missing.status).toBe(404);
      const after = await api<Record_[]>('GET', '/api/v1/services');
      expect(after.body.length).toBe(before.body.length);
    });
  });
}
