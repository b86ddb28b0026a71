// Who may import whom: the module-boundary rules of the workspace, in one place. eslint.config.mjs
// applies them to the whole tree; tools/lint/module-boundaries.spec.ts lints deliberate violations
// with them, so a rule that stops forbidding fails a test. CommonJS so that both can load it.
//
// Every project carries two tags in its project.json:
//   type:*   what it is, and so which kinds of project it may build on;
//   scope:*  who it serves, and so who may import it.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const nx = require('@nx/eslint-plugin');

const ROOT = path.resolve(__dirname, '..', '..');

/** Packages that tie code to a server, a queue, a transport or a process model. */
const FRAMEWORK_PACKAGES = [
  '@nestjs/*',
  'class-validator',
  'class-transformer',
  'bullmq',
  'ioredis',
  'ssh2',
  'express',
  'axios',
];

/**
 * Node built-ins are not in the project graph, so `bannedExternalImports` cannot see them
 * (enforce-module-boundaries bails out on any import it cannot map to a project or package);
 * `no-restricted-imports` bans them in the framework-free projects instead.
 */
const BANNED_BUILTINS = ['node:child_process', 'child_process'];

/** The DTOs may use what describes and validates HTTP bodies, nothing that serves or transports them. */
const SERVER_PACKAGES = FRAMEWORK_PACKAGES.filter(
  (name) => !['@nestjs/*', 'class-validator', 'class-transformer'].includes(name),
).concat(['@nestjs/core', '@nestjs/common', '@nestjs/platform-express', '@nestjs/axios']);

/** Project types whose code must load in any process, a CLI included: no framework, no child processes. */
const FRAMEWORK_FREE_TYPES = ['type:contracts', 'type:domain', 'type:util'];

const depConstraints = [
  // What a project may build on, by kind.
  {
    sourceTag: 'type:app',
    onlyDependOnLibsWithTags: ['type:contracts', 'type:dto', 'type:domain', 'type:adapter', 'type:util'],
  },
  {
    sourceTag: 'type:adapter',
    onlyDependOnLibsWithTags: ['type:contracts', 'type:domain', 'type:adapter', 'type:util'],
  },
  {
    sourceTag: 'type:dto',
    onlyDependOnLibsWithTags: ['type:contracts', 'type:util'],
    bannedExternalImports: SERVER_PACKAGES,
  },
  {
    sourceTag: 'type:domain',
    onlyDependOnLibsWithTags: ['type:contracts', 'type:domain', 'type:util'],
    bannedExternalImports: FRAMEWORK_PACKAGES,
  },
  {
    sourceTag: 'type:contracts',
    onlyDependOnLibsWithTags: ['type:contracts', 'type:util'],
    bannedExternalImports: FRAMEWORK_PACKAGES,
  },
  {
    sourceTag: 'type:util',
    onlyDependOnLibsWithTags: ['type:util'],
    bannedExternalImports: FRAMEWORK_PACKAGES,
  },
  { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['*'] },
  { sourceTag: 'type:test', onlyDependOnLibsWithTags: ['*'] },
  // The document's example clients run with Node alone, exactly as a user copies them; the SDK
  // examples show the official clients, which are what they are about.
  {
    sourceTag: 'type:example',
    onlyDependOnLibsWithTags: ['type:example'],
    allowedExternalImports: ['openai', '@qdrant/js-client-rest'],
  },

  // Who may import what, by scope. The never-rules are the libs a scope leaves out: gateway, proxy
  // and health-prober never reach queue or scheduler. They hold transitively because no shared lib
  // may import beyond shared. notDependOnLibsWithTags is not used: it follows the graph's edges from
  // spec files too, so one spec importing a test kit would fail every app that imports its lib.
  {
    sourceTag: 'scope:gateway',
    onlyDependOnLibsWithTags: ['scope:shared', 'scope:http'],
  },
  {
    sourceTag: 'scope:orchestrator',
    onlyDependOnLibsWithTags: ['scope:shared', 'scope:http', 'scope:queue'],
  },
  {
    sourceTag: 'scope:proxy',
    onlyDependOnLibsWithTags: ['scope:shared', 'scope:http'],
  },
  {
    sourceTag: 'scope:health-prober',
    onlyDependOnLibsWithTags: ['scope:shared'],
  },
  {
    sourceTag: 'scope:slurm-worker',
    onlyDependOnLibsWithTags: ['scope:shared', 'scope:queue', 'scope:scheduler'],
  },
  { sourceTag: 'scope:sim', onlyDependOnLibsWithTags: ['scope:shared'] },
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
  { sourceTag: 'scope:http', onlyDependOnLibsWithTags: ['scope:shared'] },
  { sourceTag: 'scope:queue', onlyDependOnLibsWithTags: ['scope:shared', 'scope:queue'] },
  {
    sourceTag: 'scope:scheduler',
    onlyDependOnLibsWithTags: ['scope:shared', 'scope:queue', 'scope:scheduler'],
  },
  // The CLI runs on a researcher's machine and talks only to the gateway's public API: it may build
  // on framework-free libs alone (types and pure rules), never on Nest, a queue or a store. ssh2 stays
  // open to it: `cluster up|down` works over SSH by design.
  {
    sourceTag: 'scope:cli',
    onlyDependOnLibsWithTags: FRAMEWORK_FREE_TYPES,
    bannedExternalImports: FRAMEWORK_PACKAGES.filter((name) => name !== 'ssh2'),
  },
  // Libraries for the researcher's own tools (the CLI, tools/bench): the services never need them,
  // and since no server scope lists this one, none can import them.
  { sourceTag: 'scope:tooling', onlyDependOnLibsWithTags: ['scope:shared', 'scope:tooling'] },
  { sourceTag: 'scope:dev', onlyDependOnLibsWithTags: ['*'] },
  // The dashboard runs in a browser and speaks only the gateway's public HTTP API: no workspace lib
  // (contracts loads node:net) may end up in its bundle.
  { sourceTag: 'scope:dashboard', onlyDependOnLibsWithTags: [] },
  { sourceTag: 'scope:client', onlyDependOnLibsWithTags: ['scope:client'] },
];

function boundaryOptions(allow = []) {
  return {
    enforceBuildableLibDependency: false,
    allow,
    // The test kit builds registry records, and the registry's specs use the test kit.
    ignoredCircularDependencies: [['registry', 'testing']],
    depConstraints,
  };
}

/** Every project's root and tags, read from the same project.json files Nx reads. */
function listProjects(root = ROOT) {
  const roots = ['.', 'apps', 'libs', 'tools', 'tests'].flatMap((dir) => {
    const base = path.join(root, dir);
    if (!fs.existsSync(base)) return [];
    return fs
      .readdirSync(base, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && entry.name !== 'node_modules')
      .map((entry) => path.join(dir, entry.name));
  });
  return roots
    .filter((dir) => fs.existsSync(path.join(root, dir, 'project.json')))
    .map((dir) => {
      const project = JSON.parse(fs.readFileSync(path.join(root, dir, 'project.json'), 'utf8'));
      return { name: project.name, root: dir.split(path.sep).join('/'), tags: project.tags ?? [] };
    });
}

/** The flat-config blocks that enforce the boundaries; they set no parser, so they work with or without types. */
function boundaryConfigs(root = ROOT) {
  const noProcesses = [...FRAMEWORK_FREE_TYPES, 'type:dto'];
  const frameworkFree = listProjects(root).filter((project) =>
    project.tags.some((tag) => noProcesses.includes(tag)),
  );
  return [
    {
      files: ['**/*.ts', '**/*.tsx'],
      plugins: { '@nx': nx },
      rules: { '@nx/enforce-module-boundaries': ['error', boundaryOptions()] },
    },
    {
      // Tests anywhere may use the shared test kit (fixtures, fakes), whatever their project may import.
      files: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts'],
      rules: { '@nx/enforce-module-boundaries': ['error', boundaryOptions(['@aiplane/testing'])] },
    },
    {
      // server-kit's route controller is handed the body DTOs in production; its spec hands it the real ones.
      files: ['libs/server-kit/**/*.spec.ts'],
      rules: {
        '@nx/enforce-module-boundaries': [
          'error',
          boundaryOptions(['@aiplane/testing', '@aiplane/http-api']),
        ],
      },
    },
    {
      // The load generator's e2e drives the bench command itself, as the CLI registers it.
      files: ['tests/e2e/loadgen.e2e-spec.ts'],
      rules: {
        '@nx/enforce-module-boundaries': [
          'error',
          boundaryOptions(['@aiplane/testing', '../../apps/cli/src/bench/*']),
        ],
      },
    },
    {
      // The generator renders the gateway's own document, so it builds the gateway app itself.
      files: ['tools/openapi/**/*.ts'],
      rules: { '@nx/enforce-module-boundaries': ['error', boundaryOptions(['../../apps/gateway/src/*'])] },
    },
    {
      files: frameworkFree.map((project) => `${project.root}/**/*.ts`),
      // Tests may run what the code renders (a batch script, a shell quote) in a real shell.
      ignores: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts'],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            paths: BANNED_BUILTINS.map((name) => ({
              name,
              message: 'Framework-free projects do not start processes; do it in an adapter or an app.',
            })),
          },
        ],
      },
    },
  ];
}

module.exports = {
  FRAMEWORK_PACKAGES,
  BANNED_BUILTINS,
  FRAMEWORK_FREE_TYPES,
  depConstraints,
  listProjects,
  boundaryConfigs,
};
