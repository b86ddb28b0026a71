import * as path from 'node:path';
import { createProjectGraphAsync } from '@nx/devkit';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { boundaryConfigs } from './module-boundaries';

const ROOT = path.resolve(__dirname, '..', '..');

// The same boundary blocks eslint.config.mjs applies, on a parser without type information: the
// type-checked rules are not under test here, and a typed program per fixture would take seconds.
let eslint: ESLint;

beforeAll(async () => {
  // enforce-module-boundaries reads the cached project graph and silently skips without one.
  await createProjectGraphAsync({ exitOnError: false });
  eslint = new ESLint({
    cwd: ROOT,
    overrideConfigFile: true,
    overrideConfig: [
      { files: ['**/*.ts', '**/*.tsx'], languageOptions: { parser: tseslint.parser } },
      ...boundaryConfigs(ROOT),
    ],
  });
}, 120_000);

/** Lints one import as if it were written in `file`; returns the rules that object. */
async function objections(file: string, specifier: string): Promise<string[]> {
  const code = `import * as imported from '${specifier}';\nexport const used = imported;\n`;
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return (result?.messages ?? []).map((message) => `${message.ruleId ?? 'parse'}: ${message.message}`);
}

const BOUNDARIES = '@nx/enforce-module-boundaries';

describe('module boundaries forbid', () => {
  it.each([
    ['apps/gateway/src/fixture.ts', '@aiplane/scheduler'],
    ['apps/proxy/src/fixture.ts', '@aiplane/scheduler'],
    ['apps/health-prober/src/fixture.ts', '@aiplane/scheduler'],
    ['apps/orchestrator/src/fixture.ts', '@aiplane/scheduler'],
    ['apps/proxy/src/fixture.ts', '@aiplane/jobs-consumer'],
    ['apps/gateway/src/fixture.ts', '@aiplane/jobs-consumer'],
    ['apps/orchestrator/src/fixture.ts', '@aiplane/jobs-consumer'],
    ['apps/proxy/src/fixture.ts', '@aiplane/jobs'],
    ['apps/health-prober/src/fixture.ts', '@aiplane/http-api'],
    ['apps/slurm-worker/src/fixture.ts', '@aiplane/http-api'],
    ['apps/vllm-sim/src/fixture.ts', '@aiplane/jobs'],
    ['libs/registry/src/fixture.ts', '@aiplane/scheduler'],
    ['libs/contracts/src/fixture.ts', '@aiplane/http-api'],
    ['libs/http-api/src/fixture.ts', '@aiplane/registry'],
    ['examples/ts/fixture.ts', '@aiplane/contracts'],
    ['apps/gateway/src/fixture.spec.ts', '@aiplane/scheduler'],
    ['libs/server-kit/src/fixture.ts', '@aiplane/http-api'],
    // The CLI reaches the gateway over HTTP only: no app code, no DTOs, no server or store libs.
    ['apps/cli/src/fixture.ts', '../../gateway/src/gateway.app'],
    ['apps/cli/src/fixture.ts', '@aiplane/http-api'],
    ['apps/cli/src/fixture.ts', '@aiplane/server-kit'],
    ['apps/cli/src/fixture.ts', '@aiplane/registry'],
    ['apps/cli/src/fixture.ts', '@aiplane/jobs'],
    // The test kit never ships: only spec files may import it.
    ['apps/gateway/src/fixture.ts', '@aiplane/testing'],
    ['apps/slurm-worker/src/fixture.ts', '@aiplane/testing'],
    ['libs/registry/src/fixture.ts', '@aiplane/testing'],
    // The load generator is for the researcher's tools, never for a service.
    ['apps/gateway/src/fixture.ts', '@aiplane/loadgen'],
    ['apps/proxy/src/fixture.ts', '@aiplane/loadgen'],
    ['libs/contracts/src/fixture.ts', '@aiplane/loadgen'],
    // The dashboard runs in a browser and uses the public HTTP API only; .tsx is checked as .ts is.
    ['apps/dashboard/src/fixture.ts', '@aiplane/contracts'],
    ['apps/dashboard/src/fixture.tsx', '@aiplane/metrics'],
  ])('%s importing %s', async (file, specifier) => {
    expect(await objections(file, specifier)).toEqual([expect.stringContaining(BOUNDARIES)]);
  });

  it.each([
    '@nestjs/common',
    '@nestjs/swagger',
    'class-validator',
    'class-transformer',
    'bullmq',
    'ioredis',
    'ssh2',
    'express',
  ])('the framework-free contracts importing %s', async (specifier) => {
    expect(await objections('libs/contracts/src/fixture.ts', specifier)).toEqual([
      expect.stringMatching(new RegExp(`^${BOUNDARIES}: .*not allowed to import "${specifier}"`)),
    ]);
  });

  it.each([
    ['libs/recipes/src/fixture.ts', 'bullmq'],
    ['libs/metrics/src/fixture.ts', '@nestjs/common'],
    ['libs/loadgen/src/fixture.ts', 'axios'],
    ['libs/config/src/fixture.ts', 'ioredis'],
    ['libs/http-api/src/fixture.ts', 'bullmq'],
    ['libs/http-api/src/fixture.ts', '@nestjs/core'],
    ['examples/ts/fixture.ts', 'axios'],
    ['apps/cli/src/fixture.ts', '@nestjs/common'],
    ['apps/cli/src/fixture.ts', 'ioredis'],
  ])('%s importing %s', async (file, specifier) => {
    expect(await objections(file, specifier)).toEqual([expect.stringContaining(BOUNDARIES)]);
  });

  it.each([
    ['libs/contracts/src/fixture.ts', 'node:child_process'],
    ['libs/contracts/src/fixture.ts', 'child_process'],
    ['libs/recipes/src/fixture.ts', 'node:child_process'],
    ['libs/loadgen/src/fixture.ts', 'node:child_process'],
    ['libs/http-api/src/fixture.ts', 'node:child_process'],
  ])('%s importing %s', async (file, specifier) => {
    expect(await objections(file, specifier)).toEqual([expect.stringContaining('no-restricted-imports')]);
  });
});

describe('module boundaries allow', () => {
  it.each([
    ['apps/slurm-worker/src/fixture.ts', '@aiplane/scheduler'],
    ['apps/slurm-worker/src/fixture.ts', '@aiplane/jobs-consumer'],
    ['apps/slurm-worker/src/fixture.ts', '@aiplane/jobs'],
    ['apps/orchestrator/src/fixture.ts', '@aiplane/jobs'],
    ['apps/gateway/src/fixture.ts', '@aiplane/http-api'],
    ['apps/proxy/src/fixture.ts', '@aiplane/http-api'],
    ['apps/health-prober/src/fixture.ts', '@aiplane/registry'],
    ['libs/http-api/src/fixture.ts', '@nestjs/swagger'],
    ['libs/http-api/src/fixture.ts', 'class-validator'],
    ['libs/contracts/src/fixture.ts', 'node:net'],
    ['libs/stack/src/fixture.ts', 'node:child_process'],
    ['libs/recipes/src/fixture.spec.ts', 'node:child_process'],
    ['tests/e2e/fixture.ts', '@aiplane/scheduler'],
    ['tools/bench/fixture.ts', '@aiplane/scheduler'],
    ['tools/bench/fixture.ts', '@aiplane/loadgen'],
    ['tests/e2e/fixture.ts', '@aiplane/loadgen'],
    ['tools/openapi/fixture.ts', '../../apps/gateway/src/gateway.app'],
    ['apps/gateway/src/fixture.spec.ts', '@aiplane/testing'],
    ['libs/server-kit/src/fixture.spec.ts', '@aiplane/http-api'],
    ['examples/ts/fixture.ts', 'node:util'],
    ['examples/ts/fixture.ts', 'openai'],
    ['examples/ts/fixture.ts', '@qdrant/js-client-rest'],
    ['apps/cli/src/fixture.ts', '@aiplane/contracts'],
    ['apps/cli/src/fixture.ts', '@aiplane/recipes'],
    ['apps/cli/src/fixture.ts', 'commander'],
    ['apps/cli/src/fixture.ts', 'openai'],
  ])('%s importing %s', async (file, specifier) => {
    expect(await objections(file, specifier)).toEqual([]);
  });
});
