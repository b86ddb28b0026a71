import { CorruptRecordError, parseJsonRecord, parseRecord } from '@aiplane/contracts';
import { serviceHashSchema, storedGroupSchema, submissionSchema } from './registry.schema';
import type { StoredGroup, Submission } from './registry.types';

const submission: Submission = {
  id: 'abc',
  recipe_name: 'inference/vllm-single-node',
  config: { environment: { HF_TOKEN: 'hf_x' }, resources: { nodes: 1 } },
  request_id: 'req-1',
  created_at: '2025-01-01T00:00:00.000Z',
  api_keys: ['k0'],
};

const group: StoredGroup = {
  id: 'sg-601',
  job_ids: ['601', '602'],
  name: 'inference/vllm-replicas-sg-601',
  recipe_name: 'inference/vllm-replicas',
  kind: 'vllm',
  config: {},
  created_at: '2025-01-01T00:00:00.000Z',
  submission_id: 'grp1',
  total_replicas: 8,
  gpu_per_replica: 1,
  base_port: 8000,
};

const serviceHash = {
  id: '501',
  job_id: '501',
  name: 'x-501',
  recipe_name: 'inference/vllm-single-node',
  kind: 'vllm',
  config: '{}',
  created_at: '2025-01-01T00:00:00.000Z',
  updated_at: '2025-01-01T00:00:00.000Z',
  submission_id: 'abc',
  job_dir: '/jobs/abc',
  readiness_path: '/health',
  scheduler_state: 'RUNNING',
  exit_code: '',
  node_index: '',
  endpoint: 'http://node-1:8002',
};

describe('registry record schemas', () => {
  it('read back valid records unchanged', () => {
    expect(parseJsonRecord('k', submissionSchema, JSON.stringify(submission))).toEqual(submission);
    expect(parseJsonRecord('k', storedGroupSchema, JSON.stringify(group))).toEqual(group);
    expect(parseRecord('k', serviceHashSchema, serviceHash)).toEqual(serviceHash);
  });

  it.each([
    [
      'a submission without its recipe',
      submissionSchema,
      { ...submission, recipe_name: undefined },
      'recipe_name',
    ],
    ['a group without its node jobs', storedGroupSchema, { ...group, job_ids: undefined }, 'job_ids'],
    ['a group of an unknown kind', storedGroupSchema, { ...group, kind: 'triton' }, 'kind'],
  ])('refuse %s, naming the key and the field', (_what, schema, record, field) => {
    const text = JSON.stringify(record);
    expect(() => parseJsonRecord('aiplane:x:1', schema, text)).toThrow(CorruptRecordError);
    expect(() => parseJsonRecord('aiplane:x:1', schema, text)).toThrow(/aiplane:x:1.*/);
    expect(() => parseJsonRecord('aiplane:x:1', schema, text)).toThrow(new RegExp(field));
  });

  it('refuse a service hash missing a field or holding an unknown state', () => {
    const { job_dir: _dropped, ...missing } = serviceHash;
    expect(() => parseRecord('aiplane:service:501', serviceHashSchema, missing)).toThrow(/job_dir/);
    expect(() =>
      parseRecord('aiplane:service:501', serviceHashSchema, { ...serviceHash, scheduler_state: 'DANCING' }),
    ).toThrow(/aiplane:service:501.*scheduler_state/);
  });

  it('refuse garbage', () => {
    for (const text of ['', 'garbage', '{"id":', '[]', '42']) {
      let error: unknown;
      try {
        parseJsonRecord('aiplane:submission:abc', submissionSchema, text);
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'CORRUPT_RECORD', key: 'aiplane:submission:abc' });
    }
  });
});
