import fc from 'fast-check';

import type { ServiceConfig } from '@aiplane/contracts';

import { mergeConfig, type ServiceConfigInput } from './config.merge';
import { RESOURCE_LIMITS } from './recipe.rules';
import { configError, qdrant, replicas, singleNode } from './__fixtures__/recipes.fixture';

describe('mergeConfig', () => {
  it('gives the recipe defaults when there is no config', () => {
    expect(mergeConfig(singleNode, undefined)).toEqual({
      resources: { nodes: 1, cpu: 8, memory: '64G', time_limit: 60, gpu: 4 },
      environment: {
        VLLM_GPU_MEMORY_UTILIZATION: '0.9',
        VLLM_HOST: '0.0.0.0',
        VLLM_MODEL: 'Qwen/Qwen2.5-0.5B-Instruct',
        VLLM_TENSOR_PARALLEL_SIZE: '4',
      },
    });
    expect(mergeConfig(singleNode, {})).toEqual(mergeConfig(singleNode, undefined));
    expect(mergeConfig(qdrant, null as unknown as undefined)).toEqual(mergeConfig(qdrant, undefined));
  });

  it('accepts a ServiceConfig as the contracts library types it', () => {
    const config: ServiceConfig = { resources: { cpu: 2 }, environment: { VLLM_MODEL: 'gpt2' } };
    expect(mergeConfig(singleNode, config).resources.cpu).toBe(2);
  });

  it("coerces the document's numeric strings and lets user values override and add", () => {
    const merged = mergeConfig(singleNode, {
      environment: { VLLM_MODEL: 'gpt2', EXTRA: 'yes' },
      resources: { cpu: '8', memory: '64G', time_limit: 120, gpu: '4' },
    });
    expect(merged.resources).toEqual({ nodes: 1, cpu: 8, memory: '64G', time_limit: 120, gpu: 4 });
    expect(merged.environment.VLLM_MODEL).toBe('gpt2');
    expect(merged.environment.EXTRA).toBe('yes');
    expect(merged.environment.VLLM_HOST).toBe('0.0.0.0');
  });

  it.each([
    [null, 0, '1'],
    [0, 0, '1'],
    ['0', 0, '1'],
    [2, 2, '2'],
    ['1', 1, '1'],
  ])('reads gpu %j as %d GPUs and sizes tensor parallelism to %s', (gpu, expectedGpu, tp) => {
    const merged = mergeConfig(singleNode, { resources: { gpu } });
    expect(merged.resources.gpu).toBe(expectedGpu);
    expect(merged.environment.VLLM_TENSOR_PARALLEL_SIZE).toBe(tp);
  });

  it('keeps a tensor parallel size the user set', () => {
    const merged = mergeConfig(singleNode, {
      environment: { VLLM_TENSOR_PARALLEL_SIZE: '2' },
      resources: { gpu: 4 },
    });
    expect(merged.environment.VLLM_TENSOR_PARALLEL_SIZE).toBe('2');
  });

  it('does not add a tensor parallel size to a qdrant service', () => {
    expect(mergeConfig(qdrant, undefined).environment).not.toHaveProperty('VLLM_TENSOR_PARALLEL_SIZE');
  });

  it('treats null resource fields other than gpu as not given', () => {
    const merged = mergeConfig(qdrant, {
      resources: { cpu: null, memory: null, partition: null, gpu: null },
    });
    expect(merged.resources).toEqual(qdrant.resources);
  });

  it.each([
    ['64g', '64G'],
    ['512m', '512M'],
    ['2T', '2T'],
    ['1024', '1024'],
    [1024, '1024M'],
  ])('normalises memory %j to %j', (memory, expected) => {
    expect(mergeConfig(qdrant, { resources: { memory } }).resources.memory).toBe(expected);
  });

  it('passes partition, account and qos through', () => {
    const merged = mergeConfig(qdrant, {
      resources: { partition: 'gpu', account: 'p200000', qos: 'default' },
    });
    expect(merged.resources).toMatchObject({ partition: 'gpu', account: 'p200000', qos: 'default' });
  });

  it.each<[string, ServiceConfigInput, string]>([
    ['cpu "abc"', { resources: { cpu: 'abc' } }, 'resources.cpu must be a positive integer, got "abc"'],
    ['cpu 0', { resources: { cpu: 0 } }, 'resources.cpu must be at least 1, got 0'],
    ['cpu 1.5', { resources: { cpu: 1.5 } }, 'resources.cpu must be a positive integer, got 1.5'],
    ['cpu "-1"', { resources: { cpu: '-1' } }, 'resources.cpu must be a positive integer, got "-1"'],
    ['cpu " 8"', { resources: { cpu: ' 8' } }, 'resources.cpu must be a positive integer, got " 8"'],
    ['cpu 2000', { resources: { cpu: 2000 } }, 'resources.cpu must be at most 1024, got 2000'],
    ['nodes 1025', { resources: { nodes: '1025' } }, 'resources.nodes must be at most 1024, got 1025'],
    ['gpu 65', { resources: { gpu: 65 } }, 'resources.gpu must be at most 64, got 65'],
    ['gpu -1', { resources: { gpu: -1 } }, 'resources.gpu must be at least 0, got -1'],
    [
      'gpu "four"',
      { resources: { gpu: 'four' } },
      'resources.gpu must be a non-negative integer, got "four"',
    ],
    [
      'time_limit > 7 days',
      { resources: { time_limit: 10081 } },
      'resources.time_limit must be at most 10080, got 10081',
    ],
    [
      'memory "64GB"',
      { resources: { memory: '64GB' } },
      'resources.memory must look like "64G" (a positive integer with an optional K, M, G or T unit), got "64GB"',
    ],
    ['memory 0', { resources: { memory: 0 } }, 'resources.memory must look like "64G"'],
    [
      'partition with a space',
      { resources: { partition: 'gpu debug' } },
      'resources.partition must be 1-64 characters from A-Z a-z 0-9 _ . -, got "gpu debug"',
    ],
    [
      'qos as a number',
      { resources: { qos: 5 as unknown as string } },
      'resources.qos must be 1-64 characters',
    ],
    [
      'an unknown resource',
      { resources: { gpus: 4 } as ServiceConfigInput['resources'] },
      'resources has unknown field "gpus"; accepted: nodes, cpu, memory, time_limit, gpu, partition, account, qos',
    ],
    [
      'an unknown config field',
      { replicas: 2 } as ServiceConfigInput,
      'config has unknown field "replicas"; accepted: environment, resources, gpu_per_replica',
    ],
    [
      'resources as an array',
      { resources: [] as unknown as ServiceConfigInput['resources'] },
      'resources must be an object, got an array',
    ],
    [
      'environment as a string',
      { environment: 'A=1' as unknown as Record<string, string> },
      'environment must be an object, got a string',
    ],
  ])('rejects %s with an actionable message', (_label, config, message) => {
    const error = configError(() => mergeConfig(singleNode, config));
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toContain(message);
  });

  describe('environment', () => {
    it('coerces numbers and booleans to strings', () => {
      const env = mergeConfig(singleNode, {
        environment: { VLLM_MAX_MODEL_LEN: 2048, FLAG: true, RATIO: 0.5 },
      }).environment;
      expect(env).toMatchObject({ VLLM_MAX_MODEL_LEN: '2048', FLAG: 'true', RATIO: '0.5' });
    });

    it('keeps a __proto__ key as an ordinary variable', () => {
      const environment = JSON.parse('{"__proto__": "x"}') as Record<string, string>;
      const env = mergeConfig(singleNode, { environment }).environment;
      expect(Object.getOwnPropertyDescriptor(env, '__proto__')?.value).toBe('x');
      expect(Object.getPrototypeOf(env)).toBe(Object.prototype);
    });

    it.each([
      'SLURM_JOB_ID',
      'SBATCH_PARTITION',
      'SRUN_CPUS_PER_TASK',
      'SALLOC_X',
      'AIPLANE_JOB_DIR',
      'APPTAINER_BIND',
      'APPTAINERENV_X',
      'SINGULARITY_BIND',
      'BASH_ENV',
      'ENV',
      'SHELLOPTS',
      'BASHOPTS',
      'IFS',
      'PS4',
      'PATH',
      'HOME',
      'PROMPT_COMMAND',
    ])('rejects the reserved name %s', (name) => {
      const error = configError(() => mergeConfig(singleNode, { environment: { [name]: 'x' } }));
      expect(error.message).toMatch(new RegExp(`^environment: ${name} is reserved`));
    });

    // CONTRACT.md: environment names stay open; the caller is the researcher (docs/security.md).
    it.each(['PYTHONPATH', 'LD_LIBRARY_PATH', 'LD_PRELOAD', 'LD_AUDIT', 'CUDA_HOME', 'HF_HOME'])(
      "passes the researcher's own %s through to the job",
      (name) => {
        expect(mergeConfig(singleNode, { environment: { [name]: '/opt/mine' } }).environment[name]).toBe(
          '/opt/mine',
        );
      },
    );

    it.each([
      ['VLLM_API_KEY', 'vllm', singleNode],
      ['QDRANT__SERVICE__API_KEY', 'qdrant', qdrant],
      // Either name on either kind: neither is the user's to set.
      ['QDRANT__SERVICE__API_KEY', 'vllm', singleNode],
      ['VLLM_API_KEY', 'qdrant', qdrant],
    ] as const)('rejects a user-chosen %s on a %s service', (name, _kind, target) => {
      const error = configError(() =>
        mergeConfig(target, { environment: { [name]: 'the-key-i-want-keep-out-of-messages' } }),
      );
      expect(error.message).toBe(
        `environment: ${name} is reserved: aiplane generates a random API key for every service and sets it itself, so that only the control plane can call the workload; remove ${name} from the environment`,
      );
      expect(error.field).toBe('environment');
      expect(error.message).not.toContain('the-key-i-want');
    });

    it.each(['1ABC', 'MY-VAR', 'A B', '', 'É', 'X'.repeat(129)])('rejects the name %j', (name) => {
      expect(configError(() => mergeConfig(singleNode, { environment: { [name]: 'x' } })).message).toMatch(
        /^environment: environment variable name/,
      );
    });

    it.each<[string, unknown, string]>([
      ['a NUL byte', 'a\0b', 'environment.V must not contain a NUL byte'],
      [
        'an unpaired surrogate',
        'a\ud800b',
        'environment.V is not valid Unicode text (it holds an unpaired surrogate)',
      ],
      [
        'more than 32 KiB',
        'é'.repeat(16 * 1024 + 1),
        'environment.V is 32770 bytes long; values are limited to 32768 bytes',
      ],
      ['null', null, 'environment.V must be a string, number or boolean, got null'],
      ['an object', { a: 1 }, 'environment.V must be a string, number or boolean, got an object'],
      ['an array', ['x'], 'environment.V must be a string, number or boolean, got an array'],
    ])('rejects a value holding %s without repeating it', (_label, value, message) => {
      const environment = { V: value } as Record<string, string>;
      const error = configError(() => mergeConfig(singleNode, { environment }));
      expect(error.message).toBe(message);
      expect(error.field).toBe('environment.V');
    });

    it('accepts a value of exactly 32 KiB', () => {
      const value = 'x'.repeat(32 * 1024);
      expect(mergeConfig(singleNode, { environment: { V: value } }).environment.V).toBe(value);
    });

    it.each([
      [singleNode, 'VLLM_PORT'],
      [qdrant, 'QDRANT__SERVICE__HTTP_PORT'],
    ])('checks the port variable of %#: %s', (target, variable) => {
      expect(mergeConfig(target, { environment: { [variable]: 9000 } }).environment[variable]).toBe('9000');
      for (const bad of ['abc', '80', '65536', '08001', '8001 ', '']) {
        expect(configError(() => mergeConfig(target, { environment: { [variable]: bad } })).message).toBe(
          `environment.${variable} must be a port number from 1024 to 65535, got ${JSON.stringify(bad)}`,
        );
      }
    });
  });

  describe('gpu_per_replica', () => {
    it('comes from the recipe and sizes tensor parallelism per replica', () => {
      const merged = mergeConfig(replicas, undefined);
      expect(merged.gpu_per_replica).toBe(1);
      expect(merged.environment.VLLM_TENSOR_PARALLEL_SIZE).toBe('1');
    });

    it("takes the document's custom replica config", () => {
      const merged = mergeConfig(replicas, { resources: { gpu: '4' }, gpu_per_replica: 2 });
      expect(merged.gpu_per_replica).toBe(2);
      expect(merged.resources.gpu).toBe(4);
      expect(merged.environment.VLLM_TENSOR_PARALLEL_SIZE).toBe('2');
    });

    it('accepts a numeric string', () => {
      expect(mergeConfig(replicas, { gpu_per_replica: '4' }).gpu_per_replica).toBe(4);
    });

    it('must divide the GPUs', () => {
      expect(configError(() => mergeConfig(replicas, { gpu_per_replica: 3 })).message).toBe(
        'resources.gpu (4) must be divisible by gpu_per_replica (3)',
      );
    });

    it('needs GPUs', () => {
      expect(configError(() => mergeConfig(replicas, { resources: { gpu: null } })).message).toBe(
        'gpu_per_replica (1) needs GPUs, but resources.gpu is 0 (CPU-only)',
      );
    });

    it.each([0, -1, 'x', 65])('rejects %j', (value) => {
      expect(configError(() => mergeConfig(replicas, { gpu_per_replica: value })).field).toBe(
        'gpu_per_replica',
      );
    });
  });

  it('changes neither the recipe nor the config', () => {
    const config = { environment: { VLLM_MODEL: 'gpt2' }, resources: { cpu: '2' } };
    const before = JSON.stringify(config);
    const first = mergeConfig(singleNode, config);
    expect(JSON.stringify(config)).toBe(before);
    expect(mergeConfig(singleNode, config)).toEqual(first);
    expect(singleNode.environment.VLLM_MODEL).toBe('Qwen/Qwen2.5-0.5B-Instruct');
  });

  describe('properties', () => {
    const integerFields = Object.keys(RESOURCE_LIMITS) as (keyof typeof RESOURCE_LIMITS)[];

    it('reads a numeric string exactly as the number it spells', () => {
      fc.assert(
        fc.property(
          fc
            .constantFrom(...integerFields)
            .chain((field) => fc.tuple(fc.constant(field), fc.integer(RESOURCE_LIMITS[field]))),
          ([field, n]) => {
            const fromString = mergeConfig(singleNode, { resources: { [field]: String(n) } });
            const fromNumber = mergeConfig(singleNode, { resources: { [field]: n } });
            expect(fromString).toEqual(fromNumber);
            expect(fromString.resources[field]).toBe(n);
          },
        ),
        { numRuns: 300 },
      );
    });

    it('hands every acceptable value to the job unchanged', () => {
      const value = fc.string({ unit: 'binary', maxLength: 200 }).filter((s) => !s.includes('\0'));
      fc.assert(
        fc.property(fc.dictionary(fc.stringMatching(/^USER_[A-Za-z0-9_]{0,20}$/), value), (environment) => {
          const merged = mergeConfig(singleNode, { environment });
          for (const [name, v] of Object.entries(environment)) expect(merged.environment[name]).toBe(v);
        }),
        { numRuns: 200 },
      );
    });
  });
});

describe('config.idle_timeout', () => {
  it('is accepted in minutes, decimals included, and changes nothing the job runs with', () => {
    expect(mergeConfig(singleNode, { idle_timeout: 0.2 })).toEqual(mergeConfig(singleNode, {}));
    expect(mergeConfig(singleNode, { idle_timeout: '30' })).toEqual(mergeConfig(singleNode, {}));
  });

  it.each([0, -1, 'soon', null])('refuses %p, naming the field', (value) => {
    const error = configError(() => mergeConfig(singleNode, { idle_timeout: value as number }));
    expect(error.field).toBe('idle_timeout');
    expect(error.message).toMatch(/^idle_timeout must be/);
  });

  it('is refused for replica groups, which are not stopped for idleness', () => {
    const error = configError(() => mergeConfig(replicas, { idle_timeout: 5 }));
    expect(error.field).toBe('idle_timeout');
    expect(error.message).toMatch(/not supported for replica groups/);
  });
});
