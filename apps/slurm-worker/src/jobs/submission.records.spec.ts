import { join } from 'node:path';
import { loadRecipeCatalogue } from '@aiplane/recipes';
import type { ServiceRegistry, StoredGroup, StoredService, Submission } from '@aiplane/registry';
import { initialRollover, planSubmission, recordSubmission } from './submission.records';

const { catalogue } = loadRecipeCatalogue(join(__dirname, '..', '..', '..', '..', 'recipes'));

describe('recordSubmission', () => {
  // What the orchestrator's create-time checks found reaches every record the worker writes.
  it.each([
    ['inference/vllm-single-node', {}, [], []],
    [
      'inference/vllm-replicas',
      { resources: { nodes: 2, gpu: 2 }, gpu_per_replica: 1 },
      ['a warning'],
      ['a warning'],
    ],
    ['inference/vllm-single-node', {}, undefined, []],
  ] as const)(
    'copies the warnings of a %s submission into its records',
    async (recipe, config, warnings, expected) => {
      const services: StoredService[] = [];
      const groups: StoredGroup[] = [];
      const registry = {
        get: () => Promise.resolve(undefined),
        getGroup: () => Promise.resolve(undefined),
        createService: (service: StoredService) => Promise.resolve(void services.push(service)),
        createGroup: (group: StoredGroup) => Promise.resolve(void groups.push(group)),
        markSubmitted: () => Promise.resolve(),
      } as unknown as ServiceRegistry;
      const submission: Submission = {
        id: 'sub1',
        recipe_name: recipe,
        config: JSON.parse(JSON.stringify(config)) as Submission['config'],
        request_id: 'req1',
        created_at: '2026-12-03T00:00:00.000Z',
        ...(warnings === undefined ? {} : { warnings: [...warnings] }),
      };
      const plan = planSubmission(submission, catalogue, '/state');
      const jobs = plan.nodes.map((node, index) => ({ jobId: String(100 + index), jobDir: node.jobDir }));
      await recordSubmission(registry, submission, plan, jobs, { warn: () => undefined }, 'slurm');
      expect(services.map((service) => service.warnings)).toEqual(jobs.map(() => expected));
      expect(groups.map((group) => group.warnings)).toEqual(plan.grouped ? [expected] : []);
    },
  );
});

describe('initialRollover', () => {
  it('schedules a rollover on SLURM unless the config turns it off', () => {
    expect(initialRollover({ config: {} }, 'slurm')).toEqual({ state: 'scheduled', message: null });
    expect(initialRollover({ config: { rollover: false } }, 'slurm')).toEqual({
      state: 'off',
      message: 'config.rollover is false: the service ends at its time limit',
    });
  });

  it('says a local job has no time limit to roll over at, rather than promising a rollover', () => {
    expect(initialRollover({ config: {} }, 'local')).toEqual({
      state: 'off',
      message: 'the local executor has no time limit: the job runs until it is stopped',
    });
  });
});
