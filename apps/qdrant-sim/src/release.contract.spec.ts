import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

import { DEFAULT_QDRANT_VERSION, loadSimConfig } from './sim.config';
import { METERED_ENDPOINTS } from './sim.metrics';
import { SimServer } from './sim.server';

// The simulator is held to the list of what the pinned Qdrant release serves, so nothing learns a name or a shape
// from the simulator that the real server does not have.
const LIST = join(__dirname, '../../../recipes/releases/qdrant-v1.18.2.json');

const releaseSchema = z.object({
  version: z.string(),
  image: z.string(),
  clients: z.object({ '@qdrant/js-client-rest': z.object({ range: z.string() }) }),
  metrics: z.object({
    families: z.array(
      z.object({
        name: z.string(),
        type: z.enum(['gauge', 'counter', 'histogram']),
        default: z.boolean(),
        simulated: z.boolean(),
        labels: z.array(z.string()).optional(),
      }),
    ),
    restMeteredEndpoints: z.array(z.string()),
  }),
  routes: z.object({
    list: z.array(
      z.object({
        method: z.enum(['GET', 'PUT', 'POST', 'DELETE']),
        path: z.string(),
        status: z.number(),
        contentType: z.string().optional(),
        text: z.string().optional(),
        body: z.object({ required: z.array(z.string()) }).optional(),
        result: z.union([z.string(), z.object({ required: z.array(z.string()) })]).optional(),
      }),
    ),
  }),
});

const release = releaseSchema.parse(JSON.parse(readFileSync(LIST, 'utf8')));
const simulated = release.metrics.families.filter((family) => family.simulated);

let sim: SimServer;
let base: string;

beforeAll(async () => {
  sim = new SimServer(
    loadSimConfig({ QDRANT__SERVICE__HOST: '127.0.0.1', QDRANT__SERVICE__HTTP_PORT: '0' }),
    {
      log: () => undefined,
    },
  );
  base = `http://127.0.0.1:${(await sim.listen()).port}`;
});

afterAll(() => sim.close());

const send = (method: string, path: string, body?: unknown): Promise<Response> =>
  fetch(`${base}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });

/** Requests that make every listed route answer 200, in an order where each finds what it needs. */
const REQUESTS: Record<string, { path: string; body?: unknown }> = {
  'PUT /collections/{name}': {
    path: '/collections/docs',
    body: { vectors: { size: 3, distance: 'Cosine' } },
  },
  'PUT /collections/{name}/points': {
    path: '/collections/docs/points?wait=true',
    body: { points: [{ id: 1, vector: [1, 0, 0], payload: { city: 'Berlin' } }] },
  },
  'POST /collections/{name}/points/search': {
    path: '/collections/docs/points/search',
    body: { vector: [1, 0, 0], limit: 3, with_payload: true },
  },
  'POST /collections/{name}/points/count': { path: '/collections/docs/points/count', body: {} },
  'POST /collections/{name}/points/scroll': { path: '/collections/docs/points/scroll', body: {} },
  'POST /collections/{name}/points': { path: '/collections/docs/points', body: { ids: [1] } },
  'GET /collections/{name}/points/{id}': { path: '/collections/docs/points/1' },
  'POST /collections/{name}/points/delete': {
    path: '/collections/docs/points/delete?wait=true',
    body: { points: [1] },
  },
  'DELETE /collections/{name}': { path: '/collections/docs' },
};

describe(`qdrant-sim against recipes/releases (Qdrant ${release.version})`, () => {
  it('reports the pinned version, one the official JS client accepts', async () => {
    expect(DEFAULT_QDRANT_VERSION).toBe(release.version);
    expect(release.image).toBe(`docker://qdrant/qdrant:v${release.version}`);
    const root = (await (await send('GET', '/')).json()) as { version: string };
    expect(root.version).toBe(release.version);
    // The client warns unless major versions match and minor versions are at most one apart.
    const [major, minor] = release.version.split('.').map(Number);
    const [clientMajor, clientMinor] = release.clients['@qdrant/js-client-rest'].range
      .replace('^', '')
      .split('.')
      .map(Number);
    expect(major).toBe(clientMajor);
    expect(Math.abs((minor ?? NaN) - (clientMinor ?? NaN))).toBeLessThanOrEqual(1);
  });

  it('answers every listed route with its status and shape', async () => {
    const ordered = [
      ...release.routes.list.filter((r) => r.method !== 'DELETE' && !r.path.includes('{')),
      ...Object.keys(REQUESTS).map((key) => {
        const route = release.routes.list.find((r) => `${r.method} ${r.path}` === key);
        if (route === undefined) throw new Error(`${key} is not in the list`);
        return route;
      }),
      ...release.routes.list.filter((r) => r.path === '/collections/{name}' && r.method === 'GET'),
    ];
    // Every route of the list is exercised (GET /collections/{name} and …/exists once more at the end).
    const exists = release.routes.list.find((r) => r.path === '/collections/{name}/exists');
    if (exists !== undefined) ordered.push(exists);
    expect(new Set(ordered)).toEqual(new Set(release.routes.list));

    await send('PUT', '/collections/kept', { vectors: { size: 3, distance: 'Dot' } });
    for (const route of ordered) {
      const key = `${route.method} ${route.path}`;
      const request = REQUESTS[key] ?? { path: route.path.replace('{name}', 'kept') };
      const res = await send(route.method, request.path, request.body);
      expect([key, res.status]).toEqual([key, route.status]);
      if (route.contentType !== undefined)
        expect(res.headers.get('content-type')).toContain(route.contentType);
      if (route.text !== undefined) expect(await res.text()).toBe(route.text);
      const shape = route.body ?? route.result;
      if (shape === undefined || typeof shape === 'string') continue;
      const json = (await res.json()) as Record<string, unknown>;
      const object = (route.body === undefined ? json.result : json) as Record<string, unknown>;
      expect([key, Object.keys(object)]).toEqual([key, expect.arrayContaining(shape.required)]);
    }
  });

  it('emits only listed families, every simulated one, with the listed types and labels', async () => {
    await send('PUT', '/collections/m', { vectors: { size: 2, distance: 'Dot' } });
    await send('PUT', '/collections/m/points?wait=true', { points: [{ id: 1, vector: [1, 0] }] });
    await send('POST', '/collections/m/points/search', { vector: [1, 0], limit: 1 });
    const text = await (await send('GET', '/metrics')).text();
    const types = new Map(
      [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((match) => [match[1] ?? '', match[2] ?? '']),
    );
    for (const [name, type] of types) {
      const family = release.metrics.families.find((f) => f.name === name);
      expect([name, family?.default, family?.type]).toEqual([name, true, type]);
    }
    expect([...types.keys()].sort()).toEqual(simulated.map((f) => f.name).sort());
    for (const family of simulated.filter((f) => f.labels !== undefined)) {
      const sampleOf = new RegExp(`^${family.name}(_bucket)?\\{`);
      const line = text.split('\n').find((l) => sampleOf.test(l));
      for (const label of family.labels ?? []) expect(line).toContain(`${label}="`);
    }
    expect(text).toContain(`app_info{name="qdrant",version="${release.version}"} 1`);
  });

  it('meters the REST routes Qdrant meters', () => {
    expect([...METERED_ENDPOINTS].sort()).toEqual([...release.metrics.restMeteredEndpoints].sort());
  });
});
