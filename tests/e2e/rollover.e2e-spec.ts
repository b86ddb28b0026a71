import { execFileSync } from 'node:child_process';
import { waitForStatus, withStack, type ApiResponse } from '@aiplane/testing';

interface Generation {
  job_id: string;
  started_at: string | null;
  ended_at: string | null;
}

interface Entry {
  id: string;
  job_id: string;
  status: string;
  warnings: string[];
  timeline: {
    submitted_at: string | null;
    started_at: string | null;
    ready_at: string | null;
    ended_at: string | null;
  };
  generations: Generation[];
  rollover: { state: string; message: string | null; successor_job_id: string | null };
}

const PROMPT_EVERY_MS = 100;
const RUN_MS = 3 * 60_000;
const SMALL = { cpu: 1, memory: '1G', time_limit: 1 };

/** Each job's state as SLURM still shows it (finished jobs stay listed for MinJobAge). */
function slurmStates(jobIds: readonly string[]): Map<string, string> {
  if (jobIds.length === 0) return new Map();
  const out = execFileSync('squeue', ['--states=all', '-h', '-o', '%i %T', '-j', jobIds.join(',')], {
    encoding: 'utf8',
  });
  return new Map(
    out
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => line.trim().split(/\s+/) as [string, string]),
  );
}

/**
 * Issue 11 item 3 on real SLURM: services with a one-minute time limit keep serving across their
 * jobs' limits. A CPU-only vLLM service and a replica group (2 × 1 GPU) get a successor job ahead of
 * each limit and move their traffic to it, the old job finishing its requests and then cancelled
 * (never timed out); prompts every 100 ms for 3 minutes all succeed. A vector database restarts on
 * its storage (data kept), answering 503 with Retry-After meanwhile.
 */
describe('walltime rollover on SLURM', () => {
  const suite = withStack(() => ({
    label: 'rollover',
    scheduler: 'slurm',
    ports: { gateway: 0 },
    env: { ROLLOVER_MARGIN_MS: '5000', ROLLOVER_DRAIN_MS: '2000' },
  }));
  const { api } = suite;

  async function create(body: unknown): Promise<Entry> {
    const response = await api<Entry>('POST', '/api/v1/services', body);
    expect({ status: response.status, body: response.body }).toMatchObject({ status: 200 });
    return response.body;
  }

  it('refuses a config.rollover that is not a boolean, and accepts false', async () => {
    const bad = await api<{ message: string }>('POST', '/api/v1/services', {
      recipe_name: 'inference/vllm-single-node',
      config: { resources: { ...SMALL, gpu: null }, rollover: 'yes' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/rollover/);
    const off = await create({
      recipe_name: 'inference/vllm-single-node',
      config: { resources: { ...SMALL, gpu: null }, rollover: false },
    });
    expect(off.rollover.state).toBe('off');
    expect(Object.keys(off.timeline).sort()).toEqual(['ended_at', 'ready_at', 'started_at', 'submitted_at']);
    expect(off.generations.map((generation) => generation.job_id)).toEqual([off.job_id]);
    await api('POST', `/api/v1/services/${off.id}/status`, { status: 'cancelled' });
  });

  it(
    'keeps a vLLM service and a replica group serving across their time limits, and a vector DB its data',
    async () => {
      const single = await create({
        recipe_name: 'inference/vllm-single-node',
        config: { resources: { ...SMALL, gpu: null } },
      });
      const group = await create({
        recipe_name: 'inference/vllm-replicas',
        config: { resources: { ...SMALL, gpu: 2 }, gpu_per_replica: 1 },
      });
      const vectors = await create({ recipe_name: 'vector-db/qdrant', config: { resources: SMALL } });
      expect(single.rollover.state).toBe('scheduled');
      await Promise.all([
        waitForStatus(api, single.id, ['running'], 90_000),
        waitForStatus(api, group.id, ['running'], 90_000),
        waitForStatus(api, vectors.id, ['running'], 90_000),
      ]);

      const base = `/api/v1/vector-db/${vectors.id}/collections/kept`;
      expect((await api('PUT', base, { vector_size: 4, distance: 'Cosine' })).status).toBe(200);
      const upsert = await api('PUT', `${base}/points`, {
        points: [
          { id: 1, vector: [0.1, 0.2, 0.3, 0.4], payload: { text: 'first' } },
          { id: 2, vector: [0.4, 0.3, 0.2, 0.1], payload: { text: 'second' } },
        ],
      });
      expect(upsert.status).toBe(200);

      const counts = { prompts: 0, failed: 0, searches: 0, searchFailed: 0, unavailable: 0, noRetryAfter: 0 };
      const failures: string[] = [];
      const note = (what: string, response: ApiResponse): void => {
        if (failures.length < 20)
          failures.push(`${what}: ${response.status} ${JSON.stringify(response.body)}`);
      };
      const stopAt = Date.now() + RUN_MS;
      const prompter = async (id: string): Promise<void> => {
        while (Date.now() < stopAt) {
          const tick = Date.now();
          const response = await api('POST', `/api/v1/vllm/${id}/prompt`, { prompt: 'Hello', max_tokens: 5 });
          counts.prompts += 1;
          if (response.status !== 200) {
            counts.failed += 1;
            note(`prompt ${id}`, response);
          }
          await new Promise((resolve) =>
            setTimeout(resolve, Math.max(0, PROMPT_EVERY_MS - (Date.now() - tick))),
          );
        }
      };
      const searcher = async (): Promise<void> => {
        while (Date.now() < stopAt) {
          const response = await api('POST', `${base}/points/search`, {
            query_vector: [0.1, 0.2, 0.3, 0.4],
            limit: 2,
          });
          counts.searches += 1;
          if (response.status === 503) {
            counts.unavailable += 1;
            const retryAfter = Number(response.headers.get('retry-after'));
            if (!(Number.isInteger(retryAfter) && retryAfter > 0)) {
              counts.noRetryAfter += 1;
              note('search 503 without Retry-After', response);
            }
          } else if (
            response.status === 200 &&
            JSON.stringify(
              (response.body as { results?: { id: unknown }[] }).results?.map((hit) => hit.id),
            ) !== '[1,2]'
          ) {
            counts.searchFailed += 1;
            note('search lost points', response);
          } else if (response.status !== 200) {
            counts.searchFailed += 1;
            note('search', response);
          }
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      };
      await Promise.all([prompter(single.id), prompter(group.id), searcher()]);

      const records = await Promise.all(
        [single.id, group.id, vectors.id].map(
          async (id) => (await api<Entry>('GET', `/api/v1/services/${id}`)).body,
        ),
      );
      const [singleAfter, groupAfter, vectorsAfter] = records as [Entry, Entry, Entry];
      console.log(
        `rollover e2e: prompts=${counts.prompts} failed=${counts.failed} ` +
          `generations single=${singleAfter.generations.length} group=${groupAfter.generations.length} ` +
          `vector-db=${vectorsAfter.generations.length} searches=${counts.searches} ` +
          `search 503s=${counts.unavailable} (without Retry-After: ${counts.noRetryAfter}) other search failures=${counts.searchFailed}`,
      );
      for (const record of records)
        console.log(
          `rollover e2e: ${record.id} ${JSON.stringify({ job_id: record.job_id, generations: record.generations, rollover: record.rollover, timeline: record.timeline })}`,
        );
      if (failures.length > 0) console.log(`rollover e2e: first failures:\n${failures.join('\n')}`);
      // SLURM's estimate for each generation's successor (sbatch --test-only), as the worker logged it.
      const estimates = suite.logs
        .filter((entry) => entry.line.includes('"successor start estimate"'))
        .map((entry) => JSON.parse(entry.line) as { job_id: string; kind: string; waitMs?: number });
      console.log(
        `rollover e2e: ${estimates.length} successor start estimates: ` +
          estimates
            .map((e) => `${e.job_id} ${e.kind}${e.waitMs === undefined ? '' : ` ${e.waitMs} ms`}`)
            .join(', '),
      );
      // Asked once per generation, never once per poll.
      const perJob = new Map<string, number>();
      for (const estimate of estimates) perJob.set(estimate.job_id, (perJob.get(estimate.job_id) ?? 0) + 1);
      expect([...perJob.values()].every((count) => count === 1)).toBe(true);

      expect(counts.failed).toBe(0);
      expect(counts.searchFailed).toBe(0);
      expect(counts.noRetryAfter).toBe(0);
      for (const record of records) {
        expect(record.generations.length).toBeGreaterThanOrEqual(2);
        // No needless rollovers: about one per minute-long limit over the run, plus the current job. A lead time
        // that outgrows the limit rolls a service over again right after each takeover (20 in 3 min).
        expect(record.generations.length).toBeLessThanOrEqual(5);
        expect(record.job_id).toBe(record.generations.at(-1)?.job_id);
        expect(record.timeline.ready_at).not.toBeNull();
      }
      // The id stays the first job's; every generation's job id names the same service.
      expect(singleAfter.id).toBe(single.id);
      expect(groupAfter.id).toBe(group.id);
      for (const record of records) {
        for (const generation of record.generations) {
          const named = await api<Entry>('GET', `/api/v1/services/${generation.job_id}`);
          expect({ job: generation.job_id, id: named.body.id }).toEqual({
            job: generation.job_id,
            id: record.id,
          });
        }
      }

      // Predecessors were cancelled, not timed out: SLURM still lists them (MinJobAge).
      const predecessors = records.flatMap((record) =>
        record.generations.slice(0, -1).map((entry) => entry.job_id),
      );
      const states = slurmStates(predecessors);
      console.log(`rollover e2e: predecessor states ${JSON.stringify(Object.fromEntries(states))}`);
      for (const jobId of predecessors)
        expect({ jobId, state: states.get(jobId) }).toEqual({ jobId, state: 'CANCELLED' });

      const search = await api<{ results: { id: unknown }[] }>('POST', `${base}/points/search`, {
        query_vector: [0.1, 0.2, 0.3, 0.4],
        limit: 2,
      });
      expect(search.status).toBe(200);
      expect(search.body.results.map((hit) => hit.id)).toEqual([1, 2]);
    },
    8 * 60_000,
  );
});
