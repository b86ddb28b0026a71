import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { readInfra, ROOT } from '@aiplane/testing';

import { renderBatchScript, type RenderProfile } from './batch-script.render';
import { mergeConfig, type ServiceConfigInput } from './config.merge';
import { loadRecipeCatalogue } from './recipe.catalogue';
import { parseRecipe, type Recipe } from './recipe.schema';

// The cluster profile's script is what runs on MeluXina, where nobody here can run it: this is the most
// this machine can say about it short of running it (tests/e2e/cluster-profile.e2e-spec.ts does that with an
// Apptainer stand-in). shellcheck reads it with the runtime helpers it sources (-x, their paths relative to
// the repository root), and the real slurmctld parses its #SBATCH header without queueing it (--test-only).
const { catalogue, errors } = loadRecipeCatalogue(join(ROOT, 'recipes'));

interface Case {
  name: string;
  recipe: Recipe;
  config: ServiceConfigInput;
}

const cases: Case[] = catalogue.list().flatMap((recipe) => [
  { name: `${recipe.path} (defaults)`, recipe, config: {} },
  {
    // A group needs a GPU per replica; everything else runs on CPU here.
    name: `${recipe.path} (small${recipe.gpu_per_replica === undefined ? ', CPU only' : ''}${recipe.kind === 'vllm' ? ', max_model_len set' : ''})`,
    recipe,
    config: {
      resources: {
        gpu: recipe.gpu_per_replica === undefined ? null : 2,
        cpu: 2,
        memory: '4G',
        time_limit: 5,
      },
      ...(recipe.kind === 'vllm' ? { max_model_len: 1024, model: 'gpt2' } : {}),
    },
  },
]);

function render(
  recipe: Recipe,
  config: ServiceConfigInput,
  profile: RenderProfile,
  jobDir: string,
  partition?: string,
) {
  const effective = mergeConfig(recipe, {
    ...config,
    resources: { ...config.resources, ...(partition === undefined ? {} : { partition }) },
  });
  return renderBatchScript({
    recipe,
    config: effective,
    profile,
    jobName: 'aiplane-profile-check-g1',
    jobDir,
    ...(effective.gpu_per_replica === undefined ? {} : { nodeIndex: 0 }),
  });
}

function shellcheck(script: string): { status: number | null; output: string } {
  const result = spawnSync('shellcheck', ['-x', '--shell=bash', '--format=gcc', '-'], {
    cwd: ROOT,
    input: script,
    encoding: 'utf8',
  });
  if (result.error)
    throw new Error(`shellcheck could not run (apt-get install shellcheck): ${result.error.message}`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('cluster-profile batch scripts', () => {
  let jobDir: string;

  beforeAll(() => {
    jobDir = mkdtempSync(join(tmpdir(), 'aiplane-profile-'));
  });
  afterAll(() => {
    rmSync(jobDir, { recursive: true, force: true });
  });

  it('has recipes to check', () => {
    expect(errors).toEqual([]);
    expect(cases.length).toBeGreaterThanOrEqual(6);
  });

  it.each(cases.map((entry) => [entry.name, entry] as const))(
    '%s passes shellcheck in both profiles',
    (_name, { recipe, config }) => {
      for (const profile of ['cluster', 'local'] as const) {
        expect({ profile, ...shellcheck(render(recipe, config, profile, jobDir)) }).toEqual({
          profile,
          status: 0,
          output: '',
        });
      }
    },
  );

  it('would catch an unquoted user value in a recipe command', () => {
    const careless = parseRecipe(
      `name: careless
description: test
version: '1.0.0'
kind: vllm
resources: { nodes: 1, cpu: 1, memory: 1G, time_limit: 5, gpu: 0 }
ports: { base: 8001 }
readiness: { path: /health }
environment: { VLLM_MODEL: m }
runtime:
  cluster:
    image: docker://example/x:1
    command: exec apptainer exec "$AIPLANE_IMAGE" serve --model $VLLM_MODEL
  local:
    command: exec true
`,
      'test/careless.yaml',
    );
    const { status, output } = shellcheck(render(careless, {}, 'cluster', jobDir));
    expect(status).not.toBe(0);
    expect(output).toContain('SC2086');
  });

  it.each(cases.map((entry) => [entry.name, entry] as const))(
    '%s is accepted by sbatch --test-only',
    (_name, { recipe, config }) => {
      const script = join(jobDir, 'job.sh');
      writeFileSync(script, render(recipe, config, 'cluster', jobDir, readInfra().slurmPartition));
      const result = spawnSync('sbatch', ['--test-only', script], { cwd: jobDir, encoding: 'utf8' });
      // sbatch --test-only reports on stderr, exit 0: "sbatch: Job <id> to start at <time> using <n> processors on nodes <n> in partition <p>".
      expect({ status: result.status, stderr: result.stderr }).toEqual({
        status: 0,
        stderr: expect.stringMatching(
          /^sbatch: Job \d+ to start at \S+ using \d+ processors on nodes \S+ in partition \S+/,
        ),
      });
    },
  );
});
