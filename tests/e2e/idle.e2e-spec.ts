import { waitForStatus, withStack } from '@aiplane/testing';

interface Entry {
  id: string;
  status: string;
  job_id: string;
  generations?: { job_id: string; started_at: string | null; ended_at: string | null }[];
}

interface ListedModel {
  id: string;
  status: string;
  services: string[];
}

// 0.2 minutes: the smallest a test can wait for and still see a few worker polls inside it.
const IDLE_TIMEOUT_MIN = 0.2;
const IDLE_TIMEOUT_MS = IDLE_TIMEOUT_MIN * 60_000;
const SMALL = { gpu: 1, cpu: 1, memory: '1G', time_limit: 10 };

/**
 * Issue 11 item 4 on real SLURM: a service with `idle_timeout` is stopped (status `idle`, its job
 * cancelled) once nobody sends it a data-plane request for that long, although status reads, logs
 * and metrics scrapes keep coming; the next prompt (or `/v1` request for its model) is answered
 * 503 with Retry-After and starts it again under the same id without a create; a vector
 * database's data is there again afterwards.
 */
describe('idle stop and start on request on SLURM', () => {
  const suite = withStack(() => ({ label: 'idle', scheduler: 'slurm', ports: { gateway: 0 } }));
  const { api } = suite;

  async function create(recipe: string, config: Record<string, unknown>): Promise<Entry> {
    const response = await api<Entry>('POST', '/api/v1/services', { recipe_name: recipe, config });
    expect(response.status).toBe(200);
    return response.body;
  }

  /**
   * Watches the service as a dashboard would (its status, its record, its logs and its metrics,
   * every half second) until it is idle; returns how long that took.
   */
  async function watchUntilIdle(id: string, metricsPath: string): Promise<{ ms: number; reads: number }> {
    const started = Date.now();
    let reads = 0;
    for (;;) {
      const status = await api<{ status: string }>('GET', `/api/v1/services/${id}/status`);
      const metrics = await api('GET', metricsPath);
      const logs = await api('GET', `/api/v1/services/${id}/logs?lines=5`);
      const record = await api<Entry>('GET', `/api/v1/services/${id}`);
      reads += 4;
      expect([status.status, metrics.status, logs.status, record.status]).toEqual([200, 200, 200, 200]);
      if (status.body.status === 'idle') return { ms: Date.now() - started, reads };
      expect(status.body.status).toBe('running');
      if (Date.now() - started > IDLE_TIMEOUT_MS + 45_000)
        throw new Error(`service ${id} never went idle (still ${status.body.status})`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  function retryAfterOf(headers: Headers): number {
    return Number(headers.get('retry-after'));
  }

  it('stops an unused vLLM service, and a prompt (then a /v1 request for its model) starts it again', async () => {
    const created = await create('inference/vllm-single-node', {
      resources: SMALL,
      idle_timeout: IDLE_TIMEOUT_MIN,
    });
    await waitForStatus(api, created.id, ['running'], 90_000);
    const used = await api<{ success: boolean }>('POST', `/api/v1/vllm/${created.id}/prompt`, {
      prompt: 'Hello',
      max_tokens: 5,
    });
    expect(used.status).toBe(200);

    const first = await watchUntilIdle(created.id, `/api/v1/services/${created.id}/metrics`);
    console.log(
      `idle e2e: vLLM service ${created.id} went idle ${first.ms} ms after its last prompt ` +
        `(idle_timeout ${IDLE_TIMEOUT_MS} ms), through ${first.reads} status, record, log and metrics reads`,
    );
    // Not before the timeout (less the proxy's one-second write throttle): reads did not count as use either way.
    expect(first.ms).toBeGreaterThanOrEqual(IDLE_TIMEOUT_MS - 2_000);

    const idleRecord = await api<Entry & { endpoint: string | null }>(
      'GET',
      `/api/v1/services/${created.id}`,
    );
    expect(idleRecord.body).toMatchObject({
      id: created.id,
      status: 'idle',
      job_id: created.job_id,
      endpoint: null,
    });
    const listed = await api<Entry[]>('GET', '/api/v1/services');
    expect(listed.body.find((entry) => entry.id === created.id)?.status).toBe('idle');
    const models = await api<{ data: ListedModel[] }>('GET', '/v1/models');
    const model = models.body.data.find((entry) => entry.services.includes(created.id));
    expect(model?.status).toBe('idle');

    const wokenAt = Date.now();
    const wake = await api<{ success: boolean; status: string; message: string }>(
      'POST',
      `/api/v1/vllm/${created.id}/prompt`,
      { prompt: 'Hello again', max_tokens: 5 },
    );
    expect(wake.status).toBe(503);
    expect(wake.body).toMatchObject({ success: false, status: 'idle' });
    expect(wake.body.message).toMatch(/idle_timeout/);
    expect(retryAfterOf(wake.headers)).toBeGreaterThan(0);
    // Racing requests ask for the same start: still one service, one new job.
    const racing = await Promise.all(
      [1, 2, 3].map(() => api('POST', `/api/v1/vllm/${created.id}/prompt`, { prompt: 'Hi', max_tokens: 5 })),
    );
    for (const response of racing) expect([200, 503]).toContain(response.status);

    const back = await waitForStatus(api, created.id, ['running'], 90_000);
    console.log(
      `idle e2e: prompt → running again in ${Date.now() - wokenAt} ms (statuses seen: ${back.seen.join(' → ')})`,
    );
    const restarted = await api<Entry>('GET', `/api/v1/services/${created.id}`);
    expect(restarted.body.id).toBe(created.id);
    expect(restarted.body.job_id).not.toBe(created.job_id);
    // The new job's id names the service too, as every generation's does (CONTRACT, identity).
    const byJobId = await api<Entry>('GET', `/api/v1/services/${restarted.body.job_id}`);
    expect(byJobId.status).toBe(200);
    expect(byJobId.body.id).toBe(created.id);
    const answered = await api<{ success: boolean; service_id: string }>(
      'POST',
      `/api/v1/vllm/${created.id}/prompt`,
      { prompt: 'Hello once more', max_tokens: 5 },
    );
    expect(answered.status).toBe(200);
    expect(answered.body).toMatchObject({ success: true, service_id: created.id });
    const services = await api<Entry[]>('GET', '/api/v1/services');
    expect(services.body.filter((entry) => entry.status !== 'cancelled')).toHaveLength(1);

    // Through /v1, by the model's name.
    const modelName = model?.id ?? '';
    const second = await watchUntilIdle(created.id, `/api/v1/vllm/${created.id}/metrics`);
    console.log(`idle e2e: idle again ${second.ms} ms after the last prompt`);
    const chat = { model: modelName, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 5 };
    const viaModelAt = Date.now();
    const refused = await api<{ error: { code: string; message: string } }>(
      'POST',
      '/v1/chat/completions',
      chat,
    );
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('model_not_ready');
    expect(refused.body.error.message).toMatch(/idle_timeout/);
    expect(retryAfterOf(refused.headers)).toBeGreaterThan(0);
    await waitForStatus(api, created.id, ['running'], 90_000);
    console.log(`idle e2e: /v1/chat/completions → running again in ${Date.now() - viaModelAt} ms`);
    const completion = await api<{ object: string }>('POST', '/v1/chat/completions', chat);
    expect(completion.status).toBe(200);
    expect(completion.body.object).toBe('chat.completion');
    const third = await api<Entry>('GET', `/api/v1/services/${created.id}`);
    expect(third.body.job_id).not.toBe(restarted.body.job_id);
    // Each job the service ran as, in order; the stopped ones ended when it went idle.
    const history = third.body.generations ?? [];
    expect(history.map((generation) => generation.job_id)).toEqual([
      created.job_id,
      restarted.body.job_id,
      third.body.job_id,
    ]);
    for (const stopped of history.slice(0, 2)) expect(Date.parse(stopped.ended_at ?? '')).not.toBeNaN();
    // Each woken job's start is filled in once the scheduler reports it.
    for (const generation of history) expect(Date.parse(generation.started_at ?? '')).not.toBeNaN();
    expect(history[2]?.ended_at).toBeNull();
  }, 300_000);

  it("keeps a vector database's data across an idle stop", async () => {
    const created = await create('vector-db/qdrant', {
      resources: { cpu: 1, memory: '1G', time_limit: 10 },
      idle_timeout: IDLE_TIMEOUT_MIN,
    });
    await waitForStatus(api, created.id, ['running'], 90_000);
    const base = `/api/v1/vector-db/${created.id}/collections/kept`;
    expect((await api('PUT', base, { vector_size: 2, distance: 'Cosine' })).status).toBe(200);
    const upsert = await api('PUT', `${base}/points`, {
      points: [{ id: 'doc-1', vector: [1, 0], payload: { text: 'still here' } }],
    });
    expect(upsert.status).toBe(200);

    const idle = await watchUntilIdle(created.id, `/api/v1/vector-db/${created.id}/metrics`);
    console.log(`idle e2e: Qdrant service ${created.id} went idle ${idle.ms} ms after its last request`);

    const search = { query_vector: [1, 0], limit: 1 };
    const refused = await api<{ status: string }>('POST', `${base}/points/search`, search);
    expect(refused.status).toBe(503);
    expect(refused.body.status).toBe('idle');
    expect(retryAfterOf(refused.headers)).toBeGreaterThan(0);
    const wokenAt = Date.now();
    await waitForStatus(api, created.id, ['running'], 90_000);
    console.log(`idle e2e: vector search → running again in ${Date.now() - wokenAt} ms`);
    const found = await api<{ results: { id: string; payload: { text: string } }[] }>(
      'POST',
      `${base}/points/search`,
      search,
    );
    expect(found.status).toBe(200);
    expect(found.body.results[0]).toMatchObject({ id: 'doc-1', payload: { text: 'still here' } });
  }, 240_000);

  it('refuses a bad idle_timeout with a 400 that says why, creating nothing', async () => {
    const before = await api<Entry[]>('GET', '/api/v1/services');
    for (const value of [0, -1, 'soon', true]) {
      const response = await api<{ message: string }>('POST', '/api/v1/services', {
        recipe_name: 'inference/vllm-single-node',
        config: { resources: SMALL, idle_timeout: value },
      });
      expect(response.status).toBe(400);
      expect(JSON.stringify(response.body.message)).toMatch(/idle_timeout must be/);
    }
    const group = await api<{ message: string }>('POST', '/api/v1/services', {
      recipe_name: 'inference/vllm-replicas',
      config: { resources: SMALL, gpu_per_replica: 1, idle_timeout: 1 },
    });
    expect(group.status).toBe(400);
    expect(JSON.stringify(group.body.message)).toMatch(/replica groups/);
    const after = await api<Entry[]>('GET', '/api/v1/services');
    expect(after.body).toHaveLength(before.body.length);
  });
});
