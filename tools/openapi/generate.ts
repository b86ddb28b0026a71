import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createLogger } from '@aiplane/server-kit';
import { createGatewayApp } from '../../apps/gateway/src/gateway.app';
import { parseGatewayConfig } from '../../apps/gateway/src/gateway.config';
import { buildOpenApiDocument } from '../../apps/gateway/src/openapi';

const DEFAULT_OUT = 'docs/openapi.json';

/** Maps whose order a reader sees: a schema's fields, and request examples (the first is the default). */
const ORDERED_MAPS = new Set(['properties', 'examples']);

/** Keys sorted at every level, except in ORDERED_MAPS, so the file only changes when the API does. */
export function stableJson(value: unknown, parentKey = ''): unknown {
  if (Array.isArray(value)) return value.map((item) => stableJson(item));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  if (!ORDERED_MAPS.has(parentKey)) entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([key, inner]) => [key, stableJson(inner, key)]));
}

/** The gateway's OpenAPI document as committed: built from the app itself, no orchestrator needed. */
export async function renderOpenApi(): Promise<string> {
  // Defaults only: plain-HTTP mode, nothing is contacted while the document is built.
  const config = parseGatewayConfig({ LOG_LEVEL: 'silent' });
  const app = await createGatewayApp(config, createLogger('openapi', 'silent'));
  try {
    return `${JSON.stringify(stableJson(buildOpenApiDocument(app)), null, 2)}\n`;
  } finally {
    await app.close();
  }
}

/** `generate [--out <file>]`, relative to the repository root. */
export async function main(argv: readonly string[], root: string): Promise<void> {
  const index = argv.indexOf('--out');
  const out = resolve(root, index >= 0 && argv[index + 1] ? (argv[index + 1] ?? DEFAULT_OUT) : DEFAULT_OUT);
  const text = await renderOpenApi();
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, text);
  process.stdout.write(`wrote ${out}\n`);
}
