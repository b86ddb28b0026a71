import { join } from 'node:path';
import type { JobState } from '@aiplane/contracts';
import { loadRecipeCatalogue } from '@aiplane/recipes';
import type { ServiceRegistry, StoredGroup, StoredService, Submission } from '@aiplane/registry';
import type { JobInfo } from '@aiplane/scheduler';
import { createLogger } from '@aiplane/server-kit';
import { RecordingScheduler } from '@aiplane/testing';
import { loadSlurmWorkerConfig } from '../slurm-worker.config';
import type { PollHandler } from './poll.handler';
import { SchedulerReconciler } from './scheduler.reconciler';

const { catalogue } = loadRecipeCatalogue(join(__dirname, '..', '..', '..', '..', 'recipes'));
const STATE_DIR = '/srv/aiplane-state';
const JOBS = `${STATE_DIR}/jobs`;

function submission(id: string, overrides: Partial<Submission> = {}): Submission {
  return {
    id,
    recipe_name: 'inference/vllm-single-node',
    config: { environment: { HF_TOKEN: 'hf_secret' } },
    request_id: `req-${id}`,
    created_at: '2025-01-01T00:00:00.000Z',
    ...overrides,
  };
}

function job(jobId: string, name: string, workDir: string | undefined, state: JobState = 'RUNNING'): JobInfo {
  return { jobId, name, state, nodes: ['vm'], ...(workDir === undefined ? {} : { workDir }) };
}

/** The registry as the reconciler uses it, in memory. */
/** `recorded`: job id → the submission its record belongs to. */
function fakeRegistry(submissions: Submission[], recorded: Record<string, string> = {}) {
  const services = new Map<string, StoredService>(
    Object.entries(recorded).map(
      ([id, submissionId]) => [id, { id, submission_id: submissionId } as StoredService] as const,
    ),
  );
  const superseded: StoredService[] = [];
  const groups = new Map<string, StoredGroup>();
  const docs = new Map(submissions.map((doc) => [doc.id, doc] as const));
  const registry = {
    get: (id: string) => Promise.resolve(services.get(id)),
    getMany: (ids: string[]) =>
      Promise.resolve(ids.flatMap((id) => (services.has(id) ? [services.get(id) as StoredService] : []))),
    supersede: (id: string) => {
      const old = services.get(id);
      services.delete(id);
      if (old) superseded.push(old);
      return Promise.resolve(old ? `aiplane:superseded:service:${id}:1` : undefined);
    },
    getSubmission: (id: string) => Promise.resolve(docs.get(id)),
    createService: (service: StoredService) => {
      services.set(service.id, service);
      return Promise.resolve();
    },
    getGroup: (id: string) => Promise.resolve(groups.get(id)),
    createGroup: (group: StoredGroup) => {
      groups.set(group.id, group);
      return Promise.resolve();
    },
    markSubmitted: (doc: Submission, jobId: string) => {
      docs.set(doc.id, { ...doc, config: {}, job_id: jobId });
      return Promise.resolve();
    },
  };
  return { registry: registry as unknown as ServiceRegistry, services, superseded, groups, docs };
}

function setup(listed: JobInfo[], submissions: Submission[], recorded: Record<string, string> = {}) {
  const store = fakeRegistry(submissions, recorded);
  const scheduler = new RecordingScheduler({ kind: 'slurm', jobs: listed });
  const poll = { handle: () => Promise.resolve({ tracked: 1, changed: 1 }) } as unknown as PollHandler;
  const reconciler = new SchedulerReconciler(
    store.registry,
    catalogue,
    poll,
    scheduler,
    loadSlurmWorkerConfig({ STATE_DIR }),
    createLogger('slurm-worker', 'silent'),
  );
  return { reconciler, cancelled: scheduler.cancelled, ...store };
}

const nothingQueued = (): Promise<boolean> => Promise.resolve(false);

describe('SchedulerReconciler', () => {
  it('records a job whose worker died between sbatch and the record write, as the submit handler would', async () => {
    const doc = submission('abc1', { api_keys: ['key-0'] });
    const { reconciler, services, docs, cancelled } = setup(
      [job('501', 'aiplane-abc1', `${JOBS}/abc1`)],
      [doc],
    );

    const report = await reconciler.reconcile(nothingQueued);

    expect(report).toMatchObject({ owned: 1, adopted: ['501'], cancelled: [], recordsChanged: 1 });
    expect(cancelled).toEqual([]);
    expect(services.get('501')).toMatchObject({
      id: '501',
      job_id: '501',
      name: 'inference/vllm-single-node-501',
      recipe_name: 'inference/vllm-single-node',
      kind: 'vllm',
      config: { environment: { HF_TOKEN: '***' } },
      submission_id: 'abc1',
      job_dir: `${JOBS}/abc1`,
      scheduler_state: 'PENDING',
      group_id: null,
      api_key: 'key-0',
    });
    // The submission is answered and no longer holds the secrets.
    expect(docs.get('abc1')).toMatchObject({ job_id: '501', config: {} });
  });

  it('records every node job of a group and the group itself', async () => {
    const doc = submission('grp1', {
      recipe_name: 'inference/vllm-replicas',
      config: { resources: { nodes: 2 } },
      api_keys: ['k0', 'k1'],
    });
    const { reconciler, services, groups, docs } = setup(
      [job('601', 'aiplane-grp1-n0', `${JOBS}/grp1/n0`), job('602', 'aiplane-grp1-n1', `${JOBS}/grp1/n1`)],
      [doc],
    );

    const report = await reconciler.reconcile(nothingQueued);

    expect(report.adopted).toEqual(['601', '602']);
    expect(services.get('602')).toMatchObject({ group_id: 'sg-601', node_index: 1, api_key: 'k1' });
    expect(groups.get('sg-601')).toMatchObject({ job_ids: ['601', '602'], total_replicas: 8 });
    expect(docs.get('grp1')?.job_id).toBe('sg-601');
  });

  it('cancels a running job that has no record and no submission, and leaves finished ones be', async () => {
    const { reconciler, cancelled, services } = setup(
      [job('701', 'aiplane-gone1', `${JOBS}/gone1`), job('702', 'aiplane-gone2', `${JOBS}/gone2`, 'FAILED')],
      [],
    );

    const report = await reconciler.reconcile(nothingQueued);

    expect(cancelled).toEqual(['701']);
    expect(report).toMatchObject({ owned: 2, adopted: [], cancelled: ['701'] });
    expect(services.size).toBe(0);
  });

  it("never touches another deployment's jobs, recorded jobs, or jobs it cannot place", async () => {
    const { reconciler, cancelled, services } = setup(
      [
        job('801', 'aiplane-other1', '/srv/other-deployment/jobs/other1'),
        job('802', 'aiplane-other2', `${STATE_DIR}-but-not-really/jobs/other2`),
        job('803', 'aiplane-nodir', undefined),
        job('804', 'aiplane-known', `${JOBS}/known`),
        job('805', 'aiplane-int-weird-name', `${JOBS}/weird`),
      ],
      [],
      { '804': 'known' },
    );

    const report = await reconciler.reconcile(nothingQueued);

    expect(report).toMatchObject({ owned: 2, adopted: [], cancelled: [] });
    expect(cancelled).toEqual([]);
    expect([...services.keys()]).toEqual(['804']);
  });

  it('cancels a second job carrying an answered submission’s name: a duplicate', async () => {
    const { reconciler, cancelled } = setup(
      [job('901', 'aiplane-dup1', `${JOBS}/dup1`), job('902', 'aiplane-dup1', `${JOBS}/dup1`)],
      [submission('dup1', { config: {}, job_id: '901' })],
      { '901': 'dup1' },
    );

    const report = await reconciler.reconcile(nothingQueued);

    expect(cancelled).toEqual(['902']);
    expect(report.cancelled).toEqual(['902']);
  });

  it("adopts an unrecorded job whose id an older submission's record still holds, moving that record aside", async () => {
    const { reconciler, services, superseded } = setup(
      [job('1000', 'aiplane-fresh', `${JOBS}/fresh`)],
      [submission('fresh')],
      { '1000': 'from-before-the-scheduler-restarted' },
    );

    const report = await reconciler.reconcile(nothingQueued);

    expect(report.adopted).toEqual(['1000']);
    expect(superseded.map((old) => old.submission_id)).toEqual(['from-before-the-scheduler-restarted']);
    expect(services.get('1000')?.submission_id).toBe('fresh');
  });

  it('adopts the newest of several jobs of one unanswered submission and cancels the others', async () => {
    const { reconciler, cancelled, services } = setup(
      [job('951', 'aiplane-twice', `${JOBS}/twice`), job('952', 'aiplane-twice', `${JOBS}/twice`)],
      [submission('twice')],
    );

    const report = await reconciler.reconcile(nothingQueued);

    expect(report.adopted).toEqual(['952']);
    expect(cancelled).toEqual(['951']);
    expect([...services.keys()]).toEqual(['952']);
  });

  it('leaves a half-submitted group to its submit job while it is queued, and cancels it once abandoned', async () => {
    const listed = [job('1001', 'aiplane-half-n0', `${JOBS}/half/n0`)];
    const doc = submission('half', {
      recipe_name: 'inference/vllm-replicas',
      config: { resources: { nodes: 2 } },
    });

    const queued = setup(listed, [doc]);
    const pending = await queued.reconciler.reconcile((id) => Promise.resolve(id === 'half'));
    expect(pending).toMatchObject({ adopted: [], cancelled: [], leftToQueue: ['1001'] });
    expect(queued.cancelled).toEqual([]);

    const abandoned = setup(listed, [doc]);
    expect((await abandoned.reconciler.reconcile(nothingQueued)).cancelled).toEqual(['1001']);
    expect(abandoned.services.size).toBe(0);
  });
});
