import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { z } from 'zod';

// A panel, probe, test or document that names a metric the pinned server does not emit by default reads nothing
// in production while the simulators keep it green. So every vLLM and Qdrant metric name in the tree must be one
// the release lists (recipes/releases/*.json) as emitted by default.
const ROOT = join(__dirname, '..', '..');
const SCANNED = [
  'apps',
  'libs',
  'tools',
  'tests',
  'docs',
  'recipes',
  'examples',
  'README.md',
  'CONTRIBUTING.md',
];
// The lists themselves name hidden and removed metrics on purpose.
const SKIPPED = new Set(['node_modules', 'dist', '.nx', 'coverage', join('recipes', 'releases')]);
const TEXT_FILE = /\.(tsx?|js|mjs|cjs|json|md|py|sh|txt|ya?ml)$/;

const familySchema = z.object({
  name: z.string(),
  type: z.enum(['gauge', 'counter', 'histogram']),
  default: z.boolean(),
});
const listSchema = z.object({
  metrics: z.object({ families: z.array(familySchema), gone: z.record(z.string(), z.unknown()).optional() }),
});

function load(file: string): z.infer<typeof listSchema> {
  return listSchema.parse(JSON.parse(readFileSync(join(ROOT, 'recipes', 'releases', file), 'utf8')));
}

const vllm = load('vllm-openai-v0.11.0.json');
const qdrant = load('qdrant-v1.18.2.json');

/** Every series name a default family may put on the wire, prometheus_client's _created gauges included. */
function exposedNames(families: z.infer<typeof familySchema>[]): Set<string> {
  const names = new Set<string>();
  for (const family of families.filter((f) => f.default)) {
    names.add(family.name);
    if (family.type === 'counter') names.add(`${family.name.replace(/_total$/, '')}_created`);
    if (family.type === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count', '_created']) names.add(family.name + suffix);
  }
  return names;
}

const allowed = new Set([...exposedNames(vllm.metrics.families), ...exposedNames(qdrant.metrics.families)]);

// vLLM names carry their prefix; Qdrant's have none, so only its metric-only prefixes are looked for.
const METRIC_NAME =
  /(?<![A-Za-z0-9_-])(vllm:[a-z][a-z0-9_:]*|(?:rest_responses|grpc_responses|collections|app_status)_[a-z0-9_]+|app_info)\b/g;

function files(path: string): string[] {
  const rel = relative(ROOT, path);
  if (SKIPPED.has(rel) || [...SKIPPED].some((skip) => rel.split('/').includes(skip))) return [];
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) return [];
  if (stat.isDirectory()) return readdirSync(path).flatMap((entry) => files(join(path, entry)));
  return TEXT_FILE.test(path) ? [path] : [];
}

function unknownMetricNames(text: string): string[] {
  return [...text.matchAll(METRIC_NAME)].map((match) => match[1] ?? '').filter((name) => !allowed.has(name));
}

describe('metric names in the tree', () => {
  it('are all emitted by default by the pinned vLLM and Qdrant releases', () => {
    const offenders: string[] = [];
    for (const file of SCANNED.flatMap((entry) => files(join(ROOT, entry)))) {
      const text = readFileSync(file, 'utf8');
      for (const name of new Set(unknownMetricNames(text))) {
        const instead = vllm.metrics.gone?.[name];
        offenders.push(
          `${relative(ROOT, file)}: ${name}${typeof instead === 'string' ? ` (read ${instead} instead)` : ''}`,
        );
      }
    }
    expect(offenders).toEqual([]);
  });

  it('catches a renamed, a hidden and a made-up name, and lets series of listed families pass', () => {
    // Built from parts so that this file does not trip the scan above.
    const prefix = 'vllm:';
    const madeUp = ['collections', 'made', 'up'].join('_');
    const text = [
      `${prefix}gpu_cache_usage_perc`,
      `${prefix}num_requests_swapped`,
      madeUp,
      `${prefix}kv_cache_usage_perc{engine="0"}`,
      `${prefix}prompt_tokens_created`,
      `${prefix}e2e_request_latency_seconds_bucket`,
      'rest_responses_duration_seconds_count',
      'collections_total',
      'the key vllm: is a YAML key, not a metric',
    ].join('\n');
    expect(unknownMetricNames(text)).toEqual([
      `${prefix}gpu_cache_usage_perc`,
      `${prefix}num_requests_swapped`,
      madeUp,
    ]);
  });
});
