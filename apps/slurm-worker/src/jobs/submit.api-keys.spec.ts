import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { SchedulerJob } from '@aiplane/jobs';
import { loadRecipeCatalogue } from '@aiplane/recipes';
import type { ServiceRegistry, StoredService, Submission } from '@aiplane/registry';
import { createLogger } from '@aiplane/server-kit';
import { RecordingScheduler } from '@aiplane/testing';
import { loadSlurmWorkerConfig } from '../slurm-worker.config';
import { SubmitHandler } from './submit.handler';

const { catalogue } = loadRecipeCatalogue(join(__dirname, '..', '..', '..', '..', 'recipes'));

/** An in-memory registry with the semantics the handler relies on (claimApiKeys: first keys win). */
function fakeRegistry(submission: Submission) {
  const services = new Map<string, StoredService>();
  const superseded: StoredService[] = [];
  let stored: Submission = { ...submission };
  let failNextCreate = false;
  const registry = {
    getSubmission: (id: string) => Promise.resolve(id === stored.id ? { ...stored } : undefined),
    claimApiKeys: (id: string, candidates: string[]) => {
      if (id !== stored.id) return Promise.resolve(undefined);
      stored.api_keys ??= candidates;
      return Promise.resolve([...stored.api_keys]);
    },
    get: (id: string) => Promise.resolve(services.get(id)),
    supersede: (id: string) => {
      const old = services.get(id);
      services.delete(id);
      if (old) superseded.push(old);
      return Promise.resolve(old ? `aiplane:superseded:service:${id}:1` : undefined);
    },
    createService: (service: StoredService) => {
      if (failNextCreate) {
        failNextCreate = false;
        return Promise.reject(new Error('worker died after sbatch, before the record was written'));
      }
      services.set(service.id, service);
      return Promise.resolve();
    },
    getGroup: () => Promise.resolve(undefined),
    createGroup: () => Promise.resolve(),
    markSubmitted: (_submission: Submission, jobId: string) => {
      stored = { ...stored, config: {}, job_id: jobId };
      delete stored.api_keys;
      return Promise.resolve();
    },
  };
  return {
    registry: registry as unknown as ServiceRegistry,
    services,
    superseded,
    submission: () => stored,
    failNextCreate: () => {
      failNextCreate = true;
    },
  };
}

describe('SubmitHandler API keys', () => {
  let stateDir: string;

  beforeEach(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'aiplane-submit-'));
  });
  afterEach(() => {
    rmSync(stateDir, { recursive: true, force: true });
  });

  function setup(recipeName: string, config: Submission['config'] = {}) {
    const submission: Submission = {
      id: 'sub1',
      recipe_name: recipeName,
      config,
      request_id: 'req1',
      created_at: '2025-01-01T00:00:00.000Z',
    };
    const registry = fakeRegistry(submission);
    // findByName knows the jobs it started, as SLURM would, so a retry adopts them.
    const scheduler = new RecordingScheduler({ submittedState: 'RUNNING' });
    const handler = new SubmitHandler(
      registry.registry,
      catalogue,
      scheduler,
      loadSlurmWorkerConfig({ STATE_DIR: stateDir, SIMULATORS_DIR: '/opt/sims' }),
      createLogger('slurm-worker', 'silent'),
    );
    const job = { data: { submissionId: 'sub1', requestId: 'req1' } } as SchedulerJob<'submit'>;
    return { handler, job, ...registry, submitted: scheduler.submitted };
  }

  it.each([
    ['inference/vllm-single-node', 'VLLM_API_KEY'],
    ['vector-db/qdrant', 'QDRANT__SERVICE__API_KEY'],
  ])(
    '%s: starts the job with a fresh key in %s and keeps the same key in its record',
    async (recipe, name) => {
      const { handler, job, services, submitted, submission } = setup(recipe);
      expect(await handler.handle(job)).toEqual({ serviceId: '1001' });

      const key = submitted[0]?.env[name];
      expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(services.get('1001')?.api_key).toBe(key);
      expect(submitted[0]?.script).not.toContain(key);
      // The job finds auth_front.py there (recipes/runtime by default).
      expect(submitted[0]?.env.AIPLANE_RUNTIME_DIR).toBe(resolve('recipes', 'runtime'));
      // Once the record holds it, the submission no longer does.
      expect(submission().api_keys).toBeUndefined();
    },
  );

  it('gives every node job of a replica group its own key', async () => {
    const { handler, job, services, submitted } = setup('inference/vllm-replicas', {
      resources: { nodes: 2 },
    });
    expect(await handler.handle(job)).toEqual({ serviceId: 'sg-1001' });

    const keys = submitted.map((request) => request.env.VLLM_API_KEY);
    expect(new Set(keys).size).toBe(2);
    expect([services.get('1001')?.api_key, services.get('1002')?.api_key]).toEqual(keys);
  });

  it('a retry that adopts the job an earlier attempt submitted records the key that job was started with', async () => {
    const { handler, job, services, submitted, failNextCreate } = setup('inference/vllm-single-node');
    failNextCreate();
    await expect(handler.handle(job)).rejects.toThrow('before the record was written');
    expect(services.size).toBe(0);

    expect(await handler.handle(job)).toEqual({ serviceId: '1001' });
    expect(submitted).toHaveLength(1);
    expect(services.get('1001')?.api_key).toBe(submitted[0]?.env.VLLM_API_KEY);
  });

  it('moves aside, never overwrites, an old record whose job id the scheduler handed out again', async () => {
    const { handler, job, services, superseded } = setup('inference/vllm-single-node');
    // What a fresh local state dir (or SLURM after `slurmctld -c`) leaves: Redis still holds 1001.
    const old = { id: '1001', submission_id: 'an-older-submission', scheduler_state: 'CANCELLED' };
    services.set('1001', old as StoredService);

    expect(await handler.handle(job)).toEqual({ serviceId: '1001' });
    expect(services.get('1001')?.submission_id).toBe('sub1');
    expect(superseded).toEqual([old]);
  });
});
