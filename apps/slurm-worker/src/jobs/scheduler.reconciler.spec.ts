import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobState } from '@aiplane/contracts';
import { loadRecipeCatalogue } from '@aiplane/recipes';
import type { ServiceRegistry, StoredGroup, StoredService, Submission } from '@aiplane/registry';
import type { JobInfo } from '@aiplane/scheduler';
import { createLogger } from '@aiplane/server-kit';
import { RecordingScheduler } from '@aiplane/testing';
import { loadSlurmWorkerConfig } from '../slurm-worker.config';
import type { PollHandler } from './poll.handler';
import { ORPHAN_MARKER, SchedulerReconciler } from './scheduler.reconciler';

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

function setupWith(
  listed: JobInfo[],
  submissions: Submission[],
  recorded: Record<string, string> = {},
  config: Record<string, string> = {},
) {
  const store = fakeRegistry(submissions, recorded);
  const scheduler = new RecordingScheduler({ kind: 'slurm', jobs: listed });
  const poll = { handle: () => Promise.resolve({ tracked: 1, changed: 0 }) } as unknown as PollHandler;
  const reconciler = new SchedulerReconciler(
    store.registry,
    catalogue,
    poll,
    scheduler,
    loadSlurmWorkerConfig({ STATE_DIR, ...config }),
    createLogger('slurm-worker', 'silent'),
  );
  return { reconciler, cancelled: scheduler.cancelled, ...store };
}

const nothingQueued = (): Promise<boolean> => Promise.resolve(false);

describe('SchedulerReconciler', () => {
  it('records a job whose worker died between sbatch and the record write, as the submit handler would', async () => {
    const doc = submission('abc1', { api_keys: ['key-0'] });
    const { reconciler, services, docs, cancelled } = setup(
      [job('501', 'aiplane-abc1-g1', `${JOBS}/abc1`)],
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
      [
        job('601', 'aiplane-grp1-g1-n0', `${JOBS}/grp1/n0`),
        job('602', 'aiplane-grp1-g1-n1', `${JOBS}/grp1/n1`),
      ],
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
      [
        job('701', 'aiplane-gone1-g1', `${JOBS}/gone1`),
        job('702', 'aiplane-gone2-g1', `${JOBS}/gone2`, 'FAILED'),
      ],
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
        job('801', 'aiplane-other1-g1', '/srv/other-deployment/jobs/other1'),
        job('802', 'aiplane-other2-g1', `${STATE_DIR}-but-not-really/jobs/other2`),
        job('803', 'aiplane-nodir-g1', undefined),
        job('804', 'aiplane-known-g1', `${JOBS}/known`),
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
      [job('901', 'aiplane-dup1-g1', `${JOBS}/dup1`), job('902', 'aiplane-dup1-g1', `${JOBS}/dup1`)],
      [submission('dup1', { config: {}, job_id: '901' })],
      { '901': 'dup1' },
    );

    const report = await reconciler.reconcile(nothingQueued);

    expect(cancelled).toEqual(['902']);
    expect(report.cancelled).toEqual(['902']);
  });

  it("adopts an unrecorded job whose id an older submission's record still holds, moving that record aside", async () => {
    const { reconciler, services, superseded } = setup(
      [job('1000', 'aiplane-fresh-g1', `${JOBS}/fresh`)],
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
      [job('951', 'aiplane-twice-g1', `${JOBS}/twice`), job('952', 'aiplane-twice-g1', `${JOBS}/twice`)],
      [submission('twice')],
    );

    const report = await reconciler.reconcile(nothingQueued);

    expect(report.adopted).toEqual(['952']);
    expect(cancelled).toEqual(['951']);
    expect([...services.keys()]).toEqual(['952']);
  });

  it('leaves a half-submitted group to its submit job while it is queued, and cancels it once abandoned', async () => {
    const listed = [job('1001', 'aiplane-half-g1-n0', `${JOBS}/half/n0`)];
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

  it('reads names from before generations as generation 1', async () => {
    const { reconciler, services } = setup(
      [job('1101', 'aiplane-legacy', `${JOBS}/legacy`)],
      [submission('legacy')],
    );

    expect((await reconciler.reconcile(nothingQueued)).adopted).toEqual(['1101']);
    expect(services.get('1101')?.submission_id).toBe('legacy');
  });

  it('never cancels the job a submission was just answered with, though its record is not written yet', async () => {
    // The submit handler marked the submission answered between this pass's listing and its reads.
    const { reconciler, cancelled } = setup(
      [job('1201', 'aiplane-racy-g1', `${JOBS}/racy`)],
      [submission('racy', { config: {}, job_id: '1201' })],
    );

    const report = await reconciler.reconcile(nothingQueued);

    expect(cancelled).toEqual([]);
    expect(report).toMatchObject({ cancelled: [], adopted: [], orphaned: [] });
  });

  it('cancels a late-accepted duplicate of a recorded job, and leaves a successor generation alone', async () => {
    const { reconciler, cancelled } = setup(
      [
        job('1301', 'aiplane-roll-g1', `${JOBS}/roll`),
        job('1302', 'aiplane-roll-g1', `${JOBS}/roll`),
        job('1303', 'aiplane-roll-g2', `${JOBS}/roll/g2`),
      ],
      [submission('roll', { config: {}, job_id: '1301' })],
      { '1301': 'roll' },
    );

    const report = await reconciler.reconcile(nothingQueued);

    expect(cancelled).toEqual(['1302']);
    expect(report).toMatchObject({ cancelled: ['1302'], successors: ['1303'] });
  });

  it('cancels the duplicate node job of an answered group, by slot', async () => {
    const { reconciler, cancelled, groups } = setup(
      [
        job('1401', 'aiplane-grpd-g1-n0', `${JOBS}/grpd/n0`),
        job('1402', 'aiplane-grpd-g1-n1', `${JOBS}/grpd/n1`),
        job('1403', 'aiplane-grpd-g1-n1', `${JOBS}/grpd/n1`),
      ],
      [submission('grpd', { recipe_name: 'inference/vllm-replicas', config: {}, job_id: 'sg-1401' })],
      { '1401': 'grpd' },
    );
    groups.set('sg-1401', { id: 'sg-1401', job_ids: ['1401', '1402'] } as StoredGroup);

    await reconciler.reconcile(nothingQueued);

    expect(cancelled).toEqual(['1403']);
  });

  it('reads the records again right before a cancel, and spares a job recorded meanwhile', async () => {
    const { reconciler, cancelled, registry, services } = setup(
      [job('1501', 'aiplane-late-g1', `${JOBS}/late`), job('1502', 'aiplane-late-g1', `${JOBS}/late`)],
      [submission('late', { config: {}, job_id: '1501' })],
      { '1501': 'late' },
    );
    // The first read finds 1502 unrecorded; by the second, a submit handler has recorded it.
    const getMany = registry.getMany.bind(registry);
    let reads = 0;
    registry.getMany = (ids: string[]) => {
      reads += 1;
      if (reads === 2) services.set('1502', { id: '1502', submission_id: 'late' } as StoredService);
      return getMany(ids);
    };

    const report = await reconciler.reconcile(nothingQueued);

    expect(reads).toBe(2);
    expect(cancelled).toEqual([]);
    expect(report.cancelled).toEqual([]);
  });

  describe('jobs nothing knows (lost Redis data)', () => {
    const unknown = ['1601', '1602', '1603'].map((id) =>
      job(id, `aiplane-lost${id}-g1`, `${JOBS}/lost${id}`),
    );

    it('cancels a few', async () => {
      const { reconciler, cancelled } = setupWith(unknown.slice(0, 2), []);
      expect((await reconciler.reconcile(nothingQueued)).cancelled).toEqual(['1601', '1602']);
      expect(cancelled).toEqual(['1601', '1602']);
    });

    it('keeps more than RECONCILE_CANCEL_UNKNOWN_MAX running and reports them', async () => {
      const { reconciler, cancelled } = setupWith(unknown, []);
      const report = await reconciler.reconcile(nothingQueued);
      expect(cancelled).toEqual([]);
      expect(report).toMatchObject({ cancelled: [], orphaned: ['1601', '1602', '1603'] });
      // Still reported on the next pass, so a dashboard of reports sees them.
      expect((await reconciler.reconcile(nothingQueued)).orphaned).toHaveLength(3);
    });

    it('keeps a kept job kept, across restarts, when cancelling some brings the rest under the limit', async () => {
      const stateDir = mkdtempSync(join(tmpdir(), 'aiplane-reconcile-spec-'));
      try {
        const listed = unknown.map((entry) => {
          const workDir = join(stateDir, 'jobs', entry.name);
          mkdirSync(workDir, { recursive: true });
          return { ...entry, workDir };
        });
        const first = setupWith(listed, [], {}, { STATE_DIR: stateDir });
        expect((await first.reconciler.reconcile(nothingQueued)).orphaned).toHaveLength(3);
        expect(readFileSync(join(listed[0]?.workDir ?? '', ORPHAN_MARKER), 'utf8')).toBe('1601\n');

        // The user cancelled one; a restarted worker sees two, within the limit, and still keeps them.
        const restarted = setupWith(listed.slice(1), [], {}, { STATE_DIR: stateDir });
        const report = await restarted.reconciler.reconcile(nothingQueued);
        expect(restarted.cancelled).toEqual([]);
        expect(report.orphaned).toEqual(['1602', '1603']);
      } finally {
        rmSync(stateDir, { recursive: true, force: true });
      }
    });

    it('cancels them all when told to', async () => {
      const { reconciler, cancelled } = setupWith(unknown, [], {}, { RECONCILE_CANCEL_UNKNOWN: 'true' });
      await reconciler.reconcile(nothingQueued);
      expect(cancelled).toEqual(['1601', '1602', '1603']);
    });

    it('honours a configured limit', async () => {
      const { reconciler, cancelled } = setupWith(unknown, [], {}, { RECONCILE_CANCEL_UNKNOWN_MAX: '3' });
      await reconciler.reconcile(nothingQueued);
      expect(cancelled).toHaveLength(3);
    });
  });
});
