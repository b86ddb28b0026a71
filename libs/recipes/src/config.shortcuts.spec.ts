import fc from 'fast-check';

import { mergeConfig, RESOURCE_SHORTCUTS } from './config.merge';
import type { Recipe } from './recipe.schema';
import { configError, qdrant, replicas, singleNode } from './__fixtures__/recipes.fixture';

// The flat config keys of the document's own system (CONTRACT.md "Requests"): each must mean
// exactly what its nested target means, with the same rules and the nested form winning.

const merge = (config: Record<string, unknown>, on: Recipe = singleNode) => mergeConfig(on, config);

describe('flat config shortcuts', () => {
  it("accept the document's clients' Qdrant request as its nested form", () => {
    expect(merge({ nodes: 1, memory: '16G' }, qdrant)).toEqual(
      merge({ resources: { nodes: 1, memory: '16G' } }, qdrant),
    );
  });

  it.each([
    ['nodes', 2, 'nodes', 2],
    ['cpu', '4', 'cpu', 4],
    ['memory', '16g', 'memory', '16G'],
    ['memory', 2048, 'memory', '2048M'],
    ['gpu', '2', 'gpu', 2],
    ['gpu', null, 'gpu', 0],
    ['time_limit', 30, 'time_limit', 30],
  ] as const)('config.%s = %j → resources.%s', (key, value, target, expected) => {
    const merged = merge({ [key]: value });
    expect(merged.resources[target]).toBe(expected);
    expect(merged).toEqual(merge({ resources: { [key]: value } }));
  });

  it.each([
    ['model', 'gpt2', 'VLLM_MODEL', 'gpt2'],
    ['max_model_len', 2048, 'VLLM_MAX_MODEL_LEN', '2048'],
    ['gpu_memory_utilization', 0.8, 'VLLM_GPU_MEMORY_UTILIZATION', '0.8'],
    ['replica_port', '9100', 'VLLM_PORT', '9100'],
  ] as const)('config.%s = %j → environment.%s', (key, value, variable, expected) => {
    const merged = merge({ [key]: value });
    expect(merged.environment[variable]).toBe(expected);
    expect(merged).toEqual(merge({ environment: { [variable]: value } }));
  });

  it("config.base_port is the port variable of the recipe's kind: the first replica's port", () => {
    expect(merge({ base_port: 9200 }, replicas).environment.VLLM_PORT).toBe('9200');
    expect(merge({ base_port: '9200' }, qdrant).environment.QDRANT__SERVICE__HTTP_PORT).toBe('9200');
    expect(merge({ base_port: 9200 }, replicas)).toEqual(
      merge({ environment: { VLLM_PORT: '9200' } }, replicas),
    );
  });

  it('count toward the tensor parallel size as the nested form does', () => {
    // A GPU count from the shortcut sizes tensor parallelism like resources.gpu.
    expect(merge({ gpu: 2 }).environment.VLLM_TENSOR_PARALLEL_SIZE).toBe('2');
    expect(merge({ gpu: 4 }, replicas).gpu_per_replica).toBe(1);
    expect(configError(() => merge({ gpu: 3, gpu_per_replica: 2 }, replicas)).message).toBe(
      'resources.gpu (3) must be divisible by gpu_per_replica (2)',
    );
  });

  describe('the nested form wins when both are given', () => {
    it.each(RESOURCE_SHORTCUTS)('resources.%s over config.%s', (key) => {
      const nested = { nodes: 2, cpu: 3, memory: '3G', gpu: 1, time_limit: 3 }[key];
      const flat = { nodes: 4, cpu: 5, memory: '5G', gpu: 2, time_limit: 5 }[key];
      expect(merge({ [key]: flat, resources: { [key]: nested } }).resources[key]).toBe(nested);
    });

    it('resources.gpu: null (CPU-only) over config.gpu', () => {
      expect(merge({ gpu: 2, resources: { gpu: null } }).resources.gpu).toBe(0);
    });

    it('environment over model, max_model_len, gpu_memory_utilization, replica_port and base_port', () => {
      const merged = merge({
        model: 'flat',
        max_model_len: 1,
        gpu_memory_utilization: 0.1,
        replica_port: 9001,
        base_port: 9001,
        environment: {
          VLLM_MODEL: 'nested',
          VLLM_MAX_MODEL_LEN: '2',
          VLLM_GPU_MEMORY_UTILIZATION: '0.2',
          VLLM_PORT: '9002',
        },
      });
      expect(merged.environment).toMatchObject({
        VLLM_MODEL: 'nested',
        VLLM_MAX_MODEL_LEN: '2',
        VLLM_GPU_MEMORY_UTILIZATION: '0.2',
        VLLM_PORT: '9002',
      });
    });

    it('a bad flat value is not looked at when the nested one is given', () => {
      expect(merge({ memory: 'lots', resources: { memory: '8G' } }).resources.memory).toBe('8G');
    });
  });

  describe('are held to the rules of their targets, naming the key that was sent', () => {
    it.each([
      [{ nodes: 0 }, 'nodes', 'nodes must be at least 1, got 0'],
      [{ cpu: 'eight' }, 'cpu', 'cpu must be a positive integer, got "eight"'],
      [{ time_limit: 100_000_000 }, 'time_limit', 'time_limit must be at most 10080, got 100000000'],
      [{ gpu: 65 }, 'gpu', 'gpu must be at most 64, got 65'],
      [
        { memory: '16 GB' },
        'memory',
        'memory must look like "64G" (a positive integer with an optional K, M, G or T unit), got "16 GB"',
      ],
      [{ model: { id: 'gpt2' } }, 'model', 'model must be a string, number or boolean, got an object'],
      [{ max_model_len: 'a\0b' }, 'max_model_len', 'max_model_len must not contain a NUL byte'],
      [
        { replica_port: 80 },
        'replica_port',
        'replica_port must be a port number from 1024 to 65535, got "80"',
      ],
      [{ base_port: 70000 }, 'base_port', 'base_port must be a port number from 1024 to 65535, got "70000"'],
    ])('%j', (config, field, message) => {
      const error = configError(() => merge(config));
      expect({ field: error.field, message: error.message }).toEqual({ field, message });
    });

    it('in the same words as the nested form', () => {
      const flat = configError(() => merge({ memory: '16 GB' })).message;
      const nested = configError(() => merge({ resources: { memory: '16 GB' } })).message;
      expect(flat.replace(/^memory/, 'resources.memory')).toBe(nested);
    });

    it('refuse replica_port and base_port naming different ports', () => {
      const error = configError(() => merge({ base_port: 9000, replica_port: 9100 }, replicas));
      expect(error.message).toBe(
        'replica_port (9100) and base_port (9000) both set VLLM_PORT; give one of them',
      );
      expect(merge({ base_port: 9000, replica_port: '9000' }, replicas).environment.VLLM_PORT).toBe('9000');
    });
  });

  it('gpu_per_replica stays its own key, and unknown keys are still refused, listing the accepted ones', () => {
    expect(merge({ gpu_per_replica: 2 }, replicas).gpu_per_replica).toBe(2);
    const error = configError(() => merge({ nodes: 1, gpus: 2 }));
    expect(error.field).toBe('config');
    expect(error.message).toBe(
      'config has unknown field "gpus"; accepted: environment, resources, gpu_per_replica, nodes, cpu, memory, gpu, time_limit, model, max_model_len, gpu_memory_utilization, replica_port, base_port, rollover, idle_timeout',
    );
    // Only the document's shortcuts: a resources field that is not one stays nested-only.
    expect(configError(() => merge({ partition: 'gpu' })).field).toBe('config');
  });

  it('leave the config they were given unchanged', () => {
    const config = { nodes: 1, memory: '16g', model: 'gpt2' };
    const before = JSON.stringify(config);
    merge(config);
    expect(JSON.stringify(config)).toBe(before);
  });

  it('mean their nested target for any accepted value (property)', () => {
    const count = fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 64 }).map(String));
    fc.assert(
      fc.property(
        fc.record(
          { nodes: count, cpu: count, gpu: fc.integer({ min: 0, max: 8 }), time_limit: count },
          { requiredKeys: [] },
        ),
        (flat) => {
          expect(merge(flat)).toEqual(merge({ resources: flat }));
        },
      ),
    );
  });
});
