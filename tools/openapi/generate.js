#!/usr/bin/env node
// Writes docs/openapi.json from the gateway's own routes and DTOs (no orchestrator needed).
// Usage: node tools/openapi/generate.js [--out <file>]   (npm run openapi)
//
// The generator is TypeScript (generate.ts). This shim compiles it and the code it imports with swc
// into dist/ (same layout as the build: aliases rewritten to relative paths), then runs it, so the
// document always reflects the sources as they are now, never a stale build.
'use strict';
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
// Only what the gateway imports: a half-edited file elsewhere must not stop the document.
const sources = [
  'apps/gateway/src',
  'libs/contracts/src',
  'libs/http-api/src',
  'libs/server-kit/src',
  'libs/config/src',
  'tools/openapi/generate.ts',
];
execFileSync(
  process.execPath,
  [
    require.resolve('@swc/cli/bin/swc.js', { paths: [root] }),
    ...sources,
    '-d',
    'dist',
    '-q',
    '--ignore',
    '**/*.spec.ts,**/*.int-spec.ts,**/*.e2e-spec.ts',
  ],
  { cwd: root, stdio: 'inherit' },
);

require(path.join(root, 'dist', 'tools', 'openapi', 'generate.js'))
  .main(process.argv.slice(2), root)
  .catch((error) => {
    process.stderr.write(`${error && error.stack ? error.stack : String(error)}\n`);
    process.exit(1);
  });
