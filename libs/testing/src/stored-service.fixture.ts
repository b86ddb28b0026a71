import type { StoredService } from '@aiplane/registry';

/**
 * A complete StoredService for tests: a single vLLM workload, running and ready on node-1:8002.
 * One shared fixture so that a new field is added to every test's records in one place; tests
 * override only what they are about.
 */
export function storedService(id: string, overrides: Partial<StoredService> = {}): StoredService {
  const recipe = overrides.recipe_name ?? 'inference/vllm-single-node';
  return {
    id,
    job_id: id,
    name: `${recipe}-${id}`,
    recipe_name: recipe,
    kind: 'vllm',
    config: {},
    created_at: '2025-01-01T00:00:00.000Z',
    updated_at: '2025-01-01T00:00:00.000Z',
    submission_id: `s${id}`,
    job_dir: '/nonexistent',
    readiness_path: '/health',
    scheduler_state: 'RUNNING',
    endpoint: 'http://node-1:8002',
    node: 'node-1',
    ready: true,
    status_reason: null,
    exit_code: null,
    last_probe_at: null,
    group_id: null,
    node_index: null,
    replicas: [],
    timeline: { submitted_at: null, started_at: null, ready_at: null, ended_at: null },
    generation: 1,
    ...overrides,
  };
}
