import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

// The stand-in tests/e2e/cluster-profile.e2e-spec.ts puts first on PATH: it must refuse what Apptainer 1.3
// and the pinned images would refuse, or that e2e proves nothing.
describe('the apptainer stand-in (a test fixture)', () => {
  const STANDIN = join(ROOT, 'tests', 'fixtures', 'apptainer-standin', 'apptainer');
  const VLLM = 'docker://vllm/vllm-openai:v0.11.0';
  const QDRANT = 'docker://qdrant/qdrant:v1.18.2';
  const KEY = 'standin-key-0123456789abcdefghijklmnopqrstuvwxyz';
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'aiplane-standin-'));
    mkdirSync(join(dir, 'sock'));
    writeFileSync(join(dir, 'echo.py'), 'import sys\nprint(" ".join(sys.argv[1:]))\n');
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function standin(args: string[], env: Record<string, string> = {}) {
    const result = spawnSync(STANDIN, args, {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', AIPLANE_JOB_DIR: dir, VLLM_API_KEY: KEY, ...env },
      encoding: 'utf8',
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr.trim() };
  }

  it.each([
    ['an unknown subcommand', () => ['instance', 'start', VLLM], /subcommand 'instance'/],
    [
      'an undocumented flag (the hidden --pwd)',
      () => ['exec', '--pwd', '/qdrant', QDRANT, '/qdrant/qdrant'],
      /unknown flag: --pwd/,
    ],
    ['a value-taking flag without its value', () => ['exec', '--bind'], /flag needs an argument: --bind/],
    ['no image', () => ['exec', '--nv'], /requires at least 2 arg/],
    [
      'an image no release list pins',
      () => ['exec', 'docker://vllm/vllm-openai:latest', 'vllm', 'serve'],
      /no simulator for image/,
    ],
    [
      'a bind of a missing source',
      () => ['exec', '--bind', '/no/such/dir', VLLM, 'vllm', 'serve'],
      /mount source \/no\/such\/dir doesn't exist/,
    ],
    ['a relative bind', () => ['exec', '--bind', 'relative', VLLM, 'vllm', 'serve'], /must be absolute/],
    [
      'a bind with bad options',
      () => ['exec', '--bind', `${dir}:${dir}:rx`, VLLM, 'vllm', 'serve'],
      /ro or rw/,
    ],
    ['a malformed --env', () => ['exec', '--env', 'A=1,B', VLLM, 'vllm', 'serve'], /is not NAME=value/],
    [
      'a missing --env-file',
      () => ['exec', '--env-file', join(dir, 'none'), VLLM, 'vllm', 'serve'],
      /no such file/,
    ],
    [
      'a documented flag it cannot emulate',
      () => ['exec', '--containall', VLLM, 'vllm', 'serve'],
      /not emulated/,
    ],
    [
      'a program the image lacks',
      () => ['exec', '--bind', dir, QDRANT, 'python3', join(dir, 'echo.py')],
      /"python3": executable file not found/,
    ],
    [
      'a socket outside every bind',
      () => ['exec', VLLM, 'vllm', 'serve', `--uds=${dir}/sock/s`],
      /not under any --bind/,
    ],
    [
      'a vllm flag v0.11.0 does not have',
      () => ['exec', '--bind', dir, VLLM, 'vllm', 'serve', `--uds=${dir}/s`, '--bogus=1'],
      /--bogus is not a flag/,
    ],
    [
      'the API key in argv',
      () => ['exec', '--bind', dir, VLLM, 'vllm', 'serve', `--uds=${dir}/s`, `--api-key=${KEY}`],
      /VLLM_API_KEY's value is in argv/,
    ],
    [
      'Qdrant without a writable tmpfs',
      () => ['exec', '--bind', dir, '--cwd', '/qdrant', QDRANT, '/qdrant/qdrant'],
      /read-only without --writable-tmpfs/,
    ],
  ])('refuses %s', (_what, args, message) => {
    const { status, stderr } = standin(args());
    expect(status).toBe(255);
    expect(stderr).toMatch(message);
  });

  it('refuses HF_HOME outside every bind, where the model cache would not be seen', () => {
    const { status, stderr } = standin(['exec', '--bind', dir, VLLM, 'python3', join(dir, 'echo.py')], {
      HF_HOME: '/var/cache/elsewhere',
    });
    expect(status).toBe(255);
    expect(stderr).toMatch(/\/var\/cache\/elsewhere is not under any --bind/);
  });

  it('runs the command in place of the container, with bound paths mapped, and logs the call', () => {
    const { status, stdout } = standin([
      'exec',
      '--nv',
      '--bind',
      `${dir}:/inside:ro`,
      '--env',
      'A=1',
      VLLM,
      'python3',
      '/inside/echo.py',
      '--listen=0.0.0.0:1',
    ]);
    expect({ status, stdout }).toEqual({ status: 0, stdout: '--listen=0.0.0.0:1\n' });
    const calls = readFileSync(join(dir, 'apptainer-standin.log'), 'utf8').trim().split('\n');
    expect(JSON.parse(calls.at(-1) ?? '{}')).toMatchObject({
      ok: true,
      image: VLLM,
      program: 'python3',
      nv: true,
      binds: [{ src: dir, dest: '/inside', opts: 'ro' }],
    });
  });
});
