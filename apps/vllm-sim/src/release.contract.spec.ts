import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

import { DEFAULT_VLLM_VERSION, loadSimConfig } from './sim.config';
import { SimServer } from './sim.server';

// The simulator is held to the list of what the pinned vLLM release emits, not to its own idea of it: a name the
// real server does not emit must not be learnt from the simulator by a panel, a probe or a test.
const LIST = join(__dirname, '../../../recipes/releases/vllm-openai-v0.11.0.json');

const keys = z.object({ required: z.array(z.string()) });
const releaseSchema = z.object({
  version: z.string(),
  image: z.string(),
  metrics: z.object({
    labels: z.array(z.string()),
    families: z.array(
      z.object({
        name: z.string().startsWith('vllm:'),
        type: z.enum(['gauge', 'counter', 'histogram']),
        default: z.boolean(),
        extraLabels: z.array(z.string()).optional(),
      }),
    ),
  }),
  routes: z.object({
    errors: z.object({ body: keys.extend({ error: keys }) }),
    list: z.array(
      z.object({
        method: z.enum(['GET', 'POST']),
        path: z.string(),
        status: z.number(),
        contentType: z.string().nullable(),
        body: z.union([z.string(), keys.extend({ data: keys.optional(), choices: keys.optional() })]),
      }),
    ),
  }),
});

const release = releaseSchema.parse(JSON.parse(readFileSync(LIST, 'utf8')));
const defaults = release.metrics.families.filter((family) => family.default);

interface Exposed {
  types: Map<string, string>;
  samples: { name: string; labels: Set<string> }[];
}

/** Families from the TYPE lines, and each sample's name and label names. */
function exposition(text: string): Exposed {
  const types = new Map<string, string>();
  const samples: Exposed['samples'] = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type?.[1] !== undefined && type[2] !== undefined) types.set(type[1], type[2]);
    if (line === '' || line.startsWith('#')) continue;
    const sample = /^([^{\s]+)(?:\{(.*)\})? /.exec(line);
    if (sample?.[1] === undefined) throw new Error(`unparsable sample line: ${line}`);
    const labels = new Set(
      [...(sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)].map((m) => m[1] ?? ''),
    );
    samples.push({ name: sample[1], labels });
  }
  return { types, samples };
}

const SUFFIXES: Record<string, string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  gauge: [],
  counter: [],
};

let sim: SimServer;
let base: string;

beforeAll(async () => {
  sim = new SimServer(loadSimConfig({ VLLM_HOST: '127.0.0.1', VLLM_PORT: '0' }), { log: () => undefined });
  const address = await sim.listen();
  if (typeof address === 'string') throw new Error('expected a TCP address');
  base = `http://127.0.0.1:${address.port}`;
});

afterAll(() => sim.close());

const post = (path: string, body: unknown): Promise<Response> =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

const hello = { messages: [{ role: 'user', content: 'Hello there' }], max_tokens: 4 };

/** A valid body for each POST route of the list. */
function requestFor(path: string): unknown {
  if (path === '/tokenize') return { prompt: 'Hello there' };
  if (path === '/v1/completions') return { prompt: 'Once upon a time', max_tokens: 3 };
  return hello;
}

describe(`vllm-sim against recipes/releases (vLLM ${release.version})`, () => {
  it('reports the pinned version, the one the recipes run', async () => {
    expect(DEFAULT_VLLM_VERSION).toBe(release.version);
    expect(release.image).toBe(`docker://vllm/vllm-openai:v${release.version}`);
    expect(await (await fetch(`${base}/version`)).json()).toEqual({ version: release.version });
  });

  it('emits exactly the default families of the release, with their types and labels', async () => {
    await post('/v1/chat/completions', hello);
    await (await post('/v1/completions', { prompt: 'Once upon a time', max_tokens: 3, stream: true })).text();
    const { types, samples } = exposition(await (await fetch(`${base}/metrics`)).text());

    expect([...types.keys()].sort()).toEqual(defaults.map((family) => family.name).sort());
    for (const family of defaults)
      expect([family.name, types.get(family.name)]).toEqual([family.name, family.type]);

    for (const sample of samples) {
      const family = defaults.find(
        (f) => f.name === sample.name || (SUFFIXES[f.type] ?? []).some((s) => f.name + s === sample.name),
      );
      if (family === undefined) throw new Error(`${sample.name} is not a sample of a listed family`);
      // The info gauge carries its CacheConfig labels and engine instead of model_name.
      const expected = family.name === 'vllm:cache_config_info' ? ['engine'] : release.metrics.labels;
      for (const label of [...expected, ...(family.extraLabels ?? [])])
        expect([sample.name, sample.labels.has(label)]).toEqual([sample.name, true]);
    }
  });

  it('answers errors with the listed body', async () => {
    const res = await post('/v1/chat/completions', { ...hello, model: 'no-such-model' });
    expect(res.status).toBe(404);
    const body = (await res.json()) as Record<string, Record<string, unknown>>;
    expect(Object.keys(body).sort()).toEqual([...release.routes.errors.body.required].sort());
    expect(Object.keys(body.error ?? {}).sort()).toEqual(
      [...release.routes.errors.body.error.required].sort(),
    );
    expect(body.error?.code).toBe(404);
  });

  it.each(release.routes.list.map((route) => [`${route.method} ${route.path}`, route] as const))(
    '%s answers with the listed status and shape',
    async (_name, route) => {
      const res =
        route.method === 'GET'
          ? await fetch(`${base}${route.path}`)
          : await post(route.path, requestFor(route.path));
      expect(res.status).toBe(route.status);
      if (route.contentType === null) expect(res.headers.get('content-type')).toBeNull();
      else expect(res.headers.get('content-type')).toContain(route.contentType);
      if (typeof route.body === 'string') return;
      const json = (await res.json()) as Record<string, unknown>;
      expect(Object.keys(json)).toEqual(expect.arrayContaining(route.body.required));
      for (const [field, nested] of [
        ['data', route.body.data],
        ['choices', route.body.choices],
      ] as const) {
        if (nested === undefined) continue;
        const items = json[field] as Record<string, unknown>[];
        expect(items.length).toBeGreaterThan(0);
        for (const item of items) expect(Object.keys(item)).toEqual(expect.arrayContaining(nested.required));
      }
    },
  );
});
