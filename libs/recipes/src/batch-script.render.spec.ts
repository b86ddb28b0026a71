import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';

import { DOCUMENT_CREATE_REQUESTS } from '@aiplane/contracts';

import { renderBatchScript, toSlurmTime, type RenderInput, type RenderProfile } from './batch-script.render';
import { mergeConfig, type EffectiveConfig, type ServiceConfigInput } from './config.merge';
import { ConfigError, RenderError } from './recipe.errors';
import type { Recipe } from './recipe.schema';
import { catalogue, recipe } from './__fixtures__/recipes.fixture';

const GOLDEN_DIR = join(__dirname, '__golden__');
const UPDATE_GOLDEN = process.env.UPDATE_GOLDEN === '1';
const JOB = { jobName: 'aiplane-sub-0001', jobDir: '/scratch/aiplane/jobs/sub-0001' };
const PROFILES: RenderProfile[] = ['cluster', 'local'];

/** The three recipes with their defaults, and the API document's curl bodies. */
const CASES: { name: string; recipe: string; config?: ServiceConfigInput }[] = [
  { name: 'vllm-single-node', recipe: 'inference/vllm-single-node' },
  { name: 'vllm-replicas', recipe: 'inference/vllm-replicas' },
  { name: 'qdrant', recipe: 'vector-db/qdrant' },
  ...(['custom_model_and_resources', 'all_options', 'cpu_only'] as const).map((example) => ({
    name: example.replaceAll('_', '-'),
    recipe: DOCUMENT_CREATE_REQUESTS[example].body.recipe_name,
    config: DOCUMENT_CREATE_REQUESTS[example].body.config,
  })),
];

function render(
  target: Recipe,
  config: EffectiveConfig,
  profile: RenderProfile,
  extra: Partial<RenderInput> = {},
) {
  return renderBatchScript({ recipe: target, config, profile, ...JOB, ...extra });
}

function expectGolden(file: string, actual: string): void {
  const path = join(GOLDEN_DIR, file);
  if (UPDATE_GOLDEN) writeFileSync(path, actual);
  if (!existsSync(path))
    throw new Error(`${file} is missing: run the spec with UPDATE_GOLDEN=1 and review the result`);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

describe('renderBatchScript golden files', () => {
  describe.each(CASES)('$name', ({ name, recipe: path, config }) => {
    const effective = mergeConfig(recipe(path), config);

    it('merges to the expected effective config', () => {
      expectGolden(`${name}.effective.json`, `${JSON.stringify(effective, null, 2)}\n`);
    });

    it.each(PROFILES)('renders the %s profile', (profile) => {
      const script = render(recipe(path), effective, profile);
      expectGolden(`${name}.${profile}.sh`, script);
      expect(render(recipe(path), effective, profile)).toBe(script);
    });

    it.each(PROFILES)('renders a %s script bash accepts', (profile) => {
      expect(() => execFileSync('bash', ['-n', join(GOLDEN_DIR, `${name}.${profile}.sh`)])).not.toThrow();
    });
  });
});

describe('renderBatchScript', () => {
  const singleNode = recipe('vllm-single-node');
  const defaults = mergeConfig(singleNode, undefined);

  it('writes the SLURM header in the agreed order', () => {
    const script = render(
      singleNode,
      mergeConfig(singleNode, { resources: { partition: 'gpu', account: 'p200000', qos: 'default' } }),
      'cluster',
    );
    expect(script.split('\n').slice(0, 16)).toEqual([
      '#!/bin/bash',
      '#SBATCH --job-name=aiplane-sub-0001',
      '#SBATCH --output=/scratch/aiplane/jobs/sub-0001/stdout.log',
      '#SBATCH --error=/scratch/aiplane/jobs/sub-0001/stderr.log',
      '#SBATCH --nodes=1',
      '#SBATCH --ntasks-per-node=1',
      '#SBATCH --cpus-per-task=8',
      '#SBATCH --mem=64G',
      '#SBATCH --time=01:00:00',
      '#SBATCH --gres=gpu:4',
      '#SBATCH --partition=gpu',
      '#SBATCH --account=p200000',
      '#SBATCH --qos=default',
      '# shellcheck disable=SC2317 # trap handlers and the recipe functions are called indirectly',
      'set -euo pipefail',
      '',
    ]);
  });

  it('asks for no GPU when none is requested', () => {
    const script = render(singleNode, mergeConfig(singleNode, { resources: { gpu: null } }), 'cluster');
    expect(script).not.toContain('--gres');
    expect(script).toContain('export AIPLANE_GPUS=0');
  });

  it('loads the modules the worker configures instead of the recipe ones', () => {
    const modules = ['env/release/2023.1', 'Apptainer/1.3.6-GCCcore-13.3.0'];
    const script = render(singleNode, defaults, 'cluster', { modules });
    expect(script).toContain('module load env/release/2023.1\nmodule load Apptainer/1.3.6-GCCcore-13.3.0\n');
    expect(script).not.toContain('module load Apptainer\n');
  });

  it('leaves the module system alone when there is nothing to load', () => {
    const script = render(singleNode, defaults, 'cluster', { modules: [] });
    expect(script).not.toContain('module');
    expect(script).toContain("export AIPLANE_IMAGE='docker://vllm/vllm-openai:v0.11.0'");
  });

  it('uses neither modules nor the image for the local profile', () => {
    const script = render(singleNode, defaults, 'local', { modules: ['Apptainer'] });
    expect(script).not.toContain('module load');
    expect(script).not.toContain('AIPLANE_IMAGE');
    expect(script).toContain(
      'VLLM_UDS="$AIPLANE_SOCK" exec node "$AIPLANE_SIMULATORS_DIR/vllm-sim/src/main.js"',
    );
    expect(script).toContain('exec python3 "$AIPLANE_RUNTIME_DIR/auth_front.py"');
    expect(script).toContain('source "$AIPLANE_RUNTIME_DIR/behind-front.sh"');
  });

  it('picks and exports the port under the variable the workload reads', () => {
    expect(render(singleNode, defaults, 'local')).toContain(
      'AIPLANE_PORT=$(aiplane_free_port "${VLLM_PORT:-$AIPLANE_BASE_PORT}")\nexport AIPLANE_PORT\nexport VLLM_PORT="$AIPLANE_PORT"\n',
    );
    const qdrant = recipe('qdrant');
    expect(render(qdrant, mergeConfig(qdrant, undefined), 'local')).toContain(
      'export QDRANT__SERVICE__HTTP_PORT="$AIPLANE_PORT"',
    );
  });

  it.each(['a b', 'x;y', '', 'x'.repeat(129), 'name$(id)', 'é'])('refuses the job name %j', (jobName) => {
    expect(() => render(singleNode, defaults, 'cluster', { jobName })).toThrow(RenderError);
  });

  it.each(['relative/dir', '/a b', '/jobs/%j', '/a$(id)', "/a'b", '/a\nb', ''])(
    'refuses the job directory %j',
    (jobDir) => {
      expect(() => render(singleNode, defaults, 'cluster', { jobDir })).toThrow(RenderError);
    },
  );

  it.each<[string, Partial<EffectiveConfig['resources']>]>([
    ['memory', { memory: '64G\n#SBATCH --uid=0' }],
    ['cpu', { cpu: 1.5 }],
    ['gpu', { gpu: -1 }],
    ['time_limit', { time_limit: 0 }],
    ['partition', { partition: 'gpu --uid=0' }],
  ])('refuses an effective config with a bad %s, whoever built it', (_field, change) => {
    const config = { ...defaults, resources: { ...defaults.resources, ...change } };
    expect(() => render(singleNode, config, 'cluster')).toThrow(RenderError);
  });

  it('refuses a module name the shell would read as more than a word', () => {
    expect(() => render(singleNode, defaults, 'cluster', { modules: ['Apptainer; id'] })).toThrow(
      RenderError,
    );
  });

  describe('properties', () => {
    const recipes = catalogue.list();
    const hostile = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 64 }),
      fc
        .array(
          fc.constantFrom(
            "'",
            '"',
            '$(id)',
            '`id`',
            '\n',
            ';',
            '../',
            '${HOME}',
            '\\',
            '*',
            '#',
            'é',
            '🙂',
            ' ',
            'x',
          ),
        )
        .map((parts) => parts.join('')),
      fc.string({ minLength: 1000, maxLength: 8000 }),
    );
    const environment = fc.dictionary(
      fc.oneof(
        fc.constantFrom(
          'VLLM_MODEL',
          'VLLM_HOST',
          'VLLM_TENSOR_PARALLEL_SIZE',
          'HF_TOKEN',
          'HF_HOME',
          'QDRANT__LOG_LEVEL',
        ),
        fc
          .stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,15}$/)
          .filter(
            (name) =>
              !/^(AIPLANE|SLURM|APPTAINER|VLLM_PORT$|QDRANT__SERVICE__HTTP_PORT$)/.test(name) &&
              !['PATH', 'HOME', 'ENV', 'IFS', 'PS4'].includes(name),
          ),
      ),
      hostile.filter((value) => !value.includes('\0')),
      { maxKeys: 6 },
    );

    it('renders the same script whatever the user puts in the environment', () => {
      fc.assert(
        fc.property(
          fc.constantFrom(...recipes),
          fc.constantFrom(...PROFILES),
          environment,
          (target, profile, env) => {
            let config: EffectiveConfig;
            try {
              config = mergeConfig(target, { environment: env });
            } catch (error) {
              // Reserved names the filter above let through are refused, which is also safe.
              if (error instanceof ConfigError) return;
              throw error;
            }
            expect(render(target, config, profile)).toBe(
              render(target, mergeConfig(target, undefined), profile),
            );
          },
        ),
        { numRuns: 300 },
      );
    });

    it('never writes a user value into the script', () => {
      fc.assert(
        fc.property(
          fc.constantFrom(...recipes),
          fc.constantFrom(...PROFILES),
          hostile,
          (target, profile, value) => {
            const marked = `zqMARKzq${value.replace(/\0/g, '')}`;
            const config = mergeConfig(target, { environment: { VLLM_MODEL: marked, USER_VALUE: marked } });
            const script = render(target, config, profile);
            expect(script).not.toContain('zqMARKzq');
          },
        ),
        { numRuns: 300 },
      );
    });

    it('lets through only SLURM names that need no quoting', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary', maxLength: 70 }), (partition) => {
          let config: EffectiveConfig;
          try {
            config = mergeConfig(singleNode, { resources: { partition } });
          } catch (error) {
            expect(error).toBeInstanceOf(ConfigError);
            return;
          }
          expect(render(singleNode, config, 'cluster')).toMatch(
            /^#SBATCH --partition=[A-Za-z0-9_.-]{1,64}$/m,
          );
        }),
        { numRuns: 300 },
      );
    });
  });
});

describe('toSlurmTime', () => {
  it.each([
    [1, '00:01:00'],
    [15, '00:15:00'],
    [60, '01:00:00'],
    [120, '02:00:00'],
    [1439, '23:59:00'],
    [1440, '1-00:00:00'],
    [1501, '1-01:01:00'],
    [10080, '7-00:00:00'],
  ])('writes %d minutes as %s', (minutes, expected) => {
    expect(toSlurmTime(minutes)).toBe(expected);
  });

  it.each([0, -5, 1.5, Number.NaN])('refuses %d', (minutes) => {
    expect(() => toSlurmTime(minutes)).toThrow(RenderError);
  });
});
