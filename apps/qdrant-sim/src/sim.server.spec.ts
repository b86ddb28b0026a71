import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadSimConfig } from './sim.config';
import { SimServer, startSim, type SimServerOptions } from './sim.server';

interface Envelope<T> {
  result: T;
  status: 'ok';
  time: number;
}
interface ErrorEnvelope {
  status: { error: string };
  time: number;
}
interface Hit {
  id: number | string;
  version: number;
  score: number;
  payload?: Record<string, unknown>;
  vector?: number[];
}

const running: SimServer[] = [];
const tempDirs: string[] = [];

async function start(env: Record<string, string> = {}, options: SimServerOptions = {}) {
  const lines: string[] = [];
  const config = loadSimConfig({
    QDRANT__SERVICE__HOST: '127.0.0.1',
    QDRANT__SERVICE__HTTP_PORT: '0',
    ...env,
  });
  const sim = new SimServer(config, { log: (line) => lines.push(line), ...options });
  running.push(sim);
  const { port } = await sim.listen();
  return { sim, base: `http://127.0.0.1:${port}`, lines };
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'qdrant-sim-server-'));
  tempDirs.push(dir);
  return dir;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((sim) => sim.close()));
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

function send(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
}

async function json<T>(response: Response | Promise<Response>): Promise<T> {
  return (await (await response).json()) as T;
}

const UUID = '5c56c793-69f3-4fbf-87e6-c4bf54c28c26';

/** Four points whose scores against [3, 4, 0] are easy to work out by hand. */
const POINTS = [
  { id: 1, vector: [1, 0, 0], payload: { city: 'Berlin', n: 1 } },
  { id: 2, vector: [0, 1, 0], payload: { city: 'London', n: 2 } },
  { id: 3, vector: [1, 1, 0], payload: { city: 'Berlin', n: 3 } },
  { id: UUID, vector: [0, 0, 2], payload: { city: 'Paris', n: 4 } },
];
async function seed(base: string, name: string, distance: string): Promise<void> {
  expect((await send('PUT', `${base}/collections/${name}`, { vectors: { size: 3, distance } })).status).toBe(
    200,
  );
  const upsert = await send('PUT', `${base}/collections/${name}/points?wait=true`, { points: POINTS });
  expect(upsert.status).toBe(200);
}

describe('service routes', () => {
  it('answers /, the health probes and logs each request', async () => {
    const { base, lines } = await start();
    expect(await json(fetch(`${base}/`))).toEqual({
      title: 'qdrant - vector search engine',
      version: '1.18.2',
      commit: '0000000000000000000000000000000000000000',
    });
    for (const [path, text] of [
      ['/healthz', 'healthz check passed'],
      ['/livez', 'healthz check passed'],
      ['/readyz', 'all shards are ready'],
    ] as const) {
      const res = await fetch(`${base}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      expect(await res.text()).toBe(text);
    }
    expect(lines[0]).toMatch(
      /^qdrant-sim: serving Qdrant 1\.18\.2 REST on 127\.0\.0\.1:\d+ \(0 collections, in memory\)$/,
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.some((line) => /^qdrant-sim: GET \/readyz 200 \d+ms$/.test(line))).toBe(true);
  });

  it('answers unknown routes and methods with an empty 404, like actix', async () => {
    const { base } = await start();
    for (const res of [
      await fetch(`${base}/nope`),
      await send('POST', `${base}/collections`, {}),
      await send('PATCH', `${base}/collections/x`, {}),
    ]) {
      expect(res.status).toBe(404);
      expect(await res.text()).toBe('');
    }
  });
});

describe('collections', () => {
  it('goes through the whole lifecycle with Qdrant envelopes', async () => {
    const { base } = await start();
    expect(await json(fetch(`${base}/collections`))).toMatchObject({
      result: { collections: [] },
      status: 'ok',
    });
    const created = await json<Envelope<boolean>>(
      send('PUT', `${base}/collections/docs`, {
        vectors: { size: 4, distance: 'Cosine' },
        on_disk_payload: true,
      }),
    );
    expect(created).toEqual({ result: true, status: 'ok', time: expect.any(Number) });
    await send('PUT', `${base}/collections/alpha/`, { vectors: { size: 2, distance: 'Dot' } });

    expect(await json(fetch(`${base}/collections`))).toMatchObject({
      result: { collections: [{ name: 'alpha' }, { name: 'docs' }] },
    });
    expect(await json(fetch(`${base}/collections/docs/exists`))).toMatchObject({ result: { exists: true } });
    expect(await json(fetch(`${base}/collections/nope/exists`))).toMatchObject({ result: { exists: false } });

    const info = await json<Envelope<Record<string, unknown>>>(fetch(`${base}/collections/docs`));
    expect(info.result).toMatchObject({
      status: 'green',
      optimizer_status: 'ok',
      indexed_vectors_count: 0,
      points_count: 0,
      segments_count: expect.any(Number),
      config: { params: { vectors: { size: 4, distance: 'Cosine' } } },
      payload_schema: {},
    });

    expect(await json(send('DELETE', `${base}/collections/docs`))).toMatchObject({ result: true });
    expect(await json(send('DELETE', `${base}/collections/docs`))).toMatchObject({ result: false });
    const gone = await fetch(`${base}/collections/docs`);
    expect(gone.status).toBe(404);
    expect(await gone.json()).toEqual({
      status: { error: "Not found: Collection `docs` doesn't exist!" },
      time: expect.any(Number),
    });
  });

  it('answers 409 to a second create of the same name', async () => {
    const { base } = await start();
    const body = { vectors: { size: 4, distance: 'Dot' } };
    expect((await send('PUT', `${base}/collections/docs`, body)).status).toBe(200);
    const again = await send('PUT', `${base}/collections/docs`, body);
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({
      status: { error: 'Wrong input: Collection `docs` already exists!' },
    });
  });

  it('validates the create request like Qdrant', async () => {
    const { base } = await start();
    const badDistance = await send('PUT', `${base}/collections/x`, { vectors: { size: 4, distance: 'Cos' } });
    expect(badDistance.status).toBe(400);
    expect(((await badDistance.json()) as ErrorEnvelope).status.error).toMatch(
      /^Format error in JSON body: unknown variant `Cos`, expected one of `Cosine`, `Euclid`, `Dot`, `Manhattan` at line 1 column \d+$/,
    );
    const zero = await send('PUT', `${base}/collections/x`, { vectors: { size: 0, distance: 'Dot' } });
    expect(zero.status).toBe(422);
    expect(await zero.json()).toEqual({
      status: {
        error: 'Validation error in JSON body: [vectors.size: value 0 invalid, must be from 1 to 65536]',
      },
      time: 0,
    });
    const badName = await send('PUT', `${base}/collections/a%3Ab`, { vectors: { size: 4, distance: 'Dot' } });
    expect(badName.status).toBe(422);
    expect(((await badName.json()) as ErrorEnvelope).status.error).toContain(
      'collection name cannot contain ":" char',
    );
  });
});

describe('points', () => {
  const cases: [string, (number | string)[], number[]][] = [
    // Hand-computed against [3, 4, 0]. Cosine normalises both sides to float32 first (query -> [0.6, 0.8, 0],
    // point 3 -> [0.70710677, 0.70710677, 0]), so point 3 scores 0.6 * 0.70710677 + 0.8 * 0.70710677 in float32.
    ['Cosine', [3, 2, 1, UUID], [0.9899495, 0.8, 0.6, 0]],
    ['Dot', [3, 2, 1, UUID], [7, 4, 3, 0]],
    ['Euclid', [3, 2, 1, UUID], [3.6055512, 4.2426405, 4.472136, 5.3851647]],
    // 1 and 2 tie at 6: the smaller id comes first.
    ['Manhattan', [3, 1, 2, UUID], [5, 6, 6, 9]],
  ];

  it.each(cases)('searches a %s collection with exact scores and order', async (distance, ids, scores) => {
    const { base } = await start();
    await seed(base, 'c', distance);
    const res = await send('POST', `${base}/collections/c/points/search`, { vector: [3, 4, 0], limit: 10 });
    expect(res.status).toBe(200);
    const body = await json<Envelope<Hit[]>>(res);
    expect(body.status).toBe('ok');
    expect(body.result.map((hit) => hit.id)).toEqual(ids);
    expect(body.result.map((hit) => hit.score)).toEqual(scores);
    // Without with_payload / with_vector Qdrant leaves both fields out.
    expect(body.result[0]).toEqual({ id: 3, version: 0, score: scores[0] });
  });

  it('returns payload and the stored (normalised) vector on request, and honours limit, offset, threshold', async () => {
    const { base } = await start();
    await seed(base, 'c', 'Cosine');
    const search = (extra: Record<string, unknown>) =>
      json<Envelope<Hit[]>>(
        send('POST', `${base}/collections/c/points/search`, { vector: [3, 4, 0], ...extra }),
      );

    const withAll = await search({ limit: 1, with_payload: true, with_vector: true });
    expect(withAll.result).toEqual([
      {
        id: 3,
        version: 0,
        score: 0.9899495,
        payload: { city: 'Berlin', n: 3 },
        vector: [0.70710677, 0.70710677, 0],
      },
    ]);
    const someKeys = await search({ limit: 1, with_payload: ['n'] });
    expect(someKeys.result[0]!.payload).toEqual({ n: 3 });
    const excluded = await search({ limit: 1, with_payload: { exclude: ['n'] } });
    expect(excluded.result[0]!.payload).toEqual({ city: 'Berlin' });
    expect((await search({ limit: 2, offset: 1 })).result.map((h) => h.id)).toEqual([2, 1]);
    expect((await search({ limit: 10, score_threshold: 0.8 })).result.map((h) => h.id)).toEqual([3]);
  });

  it('filters with must, should and must_not on payload', async () => {
    const { base } = await start();
    await seed(base, 'c', 'Dot');
    const ids = async (filter: unknown) =>
      (
        await json<Envelope<Hit[]>>(
          send('POST', `${base}/collections/c/points/search`, { vector: [3, 4, 0], limit: 10, filter }),
        )
      ).result.map((hit) => hit.id);

    expect(await ids({ must: [{ key: 'city', match: { value: 'Berlin' } }] })).toEqual([3, 1]);
    expect(await ids({ must_not: [{ key: 'city', match: { value: 'Berlin' } }] })).toEqual([2, UUID]);
    expect(
      await ids({
        should: [
          { key: 'city', match: { value: 'Paris' } },
          { key: 'n', match: { value: 2 } },
        ],
      }),
    ).toEqual([2, UUID]);
    expect(await ids({ must: [{ key: 'n', range: { gte: 2 } }], must_not: [{ has_id: [UUID] }] })).toEqual([
      3, 2,
    ]);
    expect(
      await json(
        send('POST', `${base}/collections/c/points/count`, {
          filter: { must: { key: 'city', match: { any: ['Berlin', 'Paris'] } } },
        }),
      ),
    ).toMatchObject({ result: { count: 3 } });
  });

  it('upserts, replaces, retrieves and deletes points with operation ids and versions', async () => {
    const { base } = await start();
    await seed(base, 'c', 'Dot');
    const replaced = await json<Envelope<unknown>>(
      send('PUT', `${base}/collections/c/points?wait=true`, {
        batch: { ids: [2], vectors: [[0, 5, 0]], payloads: [{ city: 'Oslo' }] },
      }),
    );
    expect(replaced.result).toEqual({ operation_id: 1, status: 'completed' });
    expect(await json(fetch(`${base}/collections/c/points/2`))).toMatchObject({
      result: { id: 2, payload: { city: 'Oslo' }, vector: [0, 5, 0] },
    });
    expect(await json(fetch(`${base}/collections/c/points/${UUID.toUpperCase()}`))).toMatchObject({
      result: { id: UUID },
    });
    expect(await json(send('POST', `${base}/collections/c/points`, { ids: [3, 99, 1] }))).toMatchObject({
      result: [{ id: 3, payload: { city: 'Berlin', n: 3 } }, { id: 1 }],
    });
    const hit = await json<Envelope<Hit[]>>(
      send('POST', `${base}/collections/c/points/search`, { vector: [0, 1, 0], limit: 1 }),
    );
    expect(hit.result[0]).toEqual({ id: 2, version: 1, score: 5 });

    const deleted = await json<Envelope<unknown>>(
      send('POST', `${base}/collections/c/points/delete`, { points: [2, 3] }),
    );
    expect(deleted.result).toEqual({ operation_id: 2, status: 'acknowledged' });
    await send('POST', `${base}/collections/c/points/delete?wait=true`, {
      filter: { must: [{ key: 'city', match: { value: 'Paris' } }] },
    });
    expect(await json(send('POST', `${base}/collections/c/points/count`, {}))).toMatchObject({
      result: { count: 1 },
    });
    expect(await json(fetch(`${base}/collections/c`))).toMatchObject({
      result: { points_count: 1, vectors_count: 1 },
    });
    const missing = await fetch(`${base}/collections/c/points/3`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({
      status: { error: 'Not found: Point with id 3 does not exists!' },
    });
    const notAnId = await fetch(`${base}/collections/c/points/abc`);
    expect(notAnId.status).toBe(400);
    expect(await notAnId.json()).toMatchObject({
      status: { error: 'Wrong input: Can not recognize "abc" as point id' },
    });
  });

  it('scrolls through points in id order', async () => {
    const { base } = await start();
    await seed(base, 'c', 'Dot');
    const page = await json<Envelope<{ points: unknown[]; next_page_offset: unknown }>>(
      send('POST', `${base}/collections/c/points/scroll`, { limit: 2, with_payload: false }),
    );
    expect(page.result).toEqual({ points: [{ id: 1 }, { id: 2 }], next_page_offset: 3 });
    const rest = await json<Envelope<{ points: { id: unknown }[]; next_page_offset: unknown }>>(
      send('POST', `${base}/collections/c/points/scroll`, { limit: 10, offset: 3 }),
    );
    expect(rest.result.points.map((p) => p.id)).toEqual([3, UUID]);
    expect(rest.result.next_page_offset).toBeNull();
  });

  it('answers 400 with Qdrant message to a vector of the wrong dimension', async () => {
    const { base } = await start();
    await send('PUT', `${base}/collections/c`, { vectors: { size: 4, distance: 'Cosine' } });
    const upsert = await send('PUT', `${base}/collections/c/points?wait=true`, {
      points: [{ id: 1, vector: [0.1, 0.2, 0.3] }],
    });
    expect(upsert.status).toBe(400);
    expect(await upsert.json()).toEqual({
      status: { error: 'Wrong input: Vector dimension error: expected dim: 4, got 3' },
      time: expect.any(Number),
    });
    const search = await send('POST', `${base}/collections/c/points/search`, { vector: [1, 2], limit: 3 });
    expect(search.status).toBe(400);
    expect(((await search.json()) as ErrorEnvelope).status.error).toBe(
      'Wrong input: Vector dimension error: expected dim: 4, got 2',
    );
  });

  it('answers 400 to ids that are neither unsigned integers nor UUIDs', async () => {
    const { base } = await start();
    await send('PUT', `${base}/collections/c`, { vectors: { size: 2, distance: 'Dot' } });
    for (const id of ['doc-1', -1, 1.5, '42']) {
      const res = await send('PUT', `${base}/collections/c/points?wait=true`, {
        points: [{ id, vector: [1, 2] }],
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as ErrorEnvelope).status.error).toMatch(
        /^Format error in JSON body: data did not match any variant of untagged enum PointInsertOperations at line 1 column \d+$/,
      );
    }
    expect(await json(send('POST', `${base}/collections/c/points/count`, {}))).toMatchObject({
      result: { count: 0 },
    });
  });

  it('answers 404 for points of a missing collection', async () => {
    const { base } = await start();
    const res = await send('PUT', `${base}/collections/ghost/points`, { points: [] });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({
      status: { error: "Not found: Collection `ghost` doesn't exist!" },
    });
  });
});

describe('request bodies', () => {
  it('answers 400 to bad JSON, a missing field and a wrong content type, with time 0', async () => {
    const { base } = await start();
    await send('PUT', `${base}/collections/c`, { vectors: { size: 2, distance: 'Dot' } });
    const badJson = await send('POST', `${base}/collections/c/points/search`, '{"vector": [1, 2], ');
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toEqual({
      status: { error: expect.stringMatching(/^Format error in JSON body: .* at line 1 column \d+$/) },
      time: 0,
    });
    const noLimit = await send('POST', `${base}/collections/c/points/search`, { vector: [1, 2] });
    expect(((await noLimit.json()) as ErrorEnvelope).status.error).toBe(
      'Format error in JSON body: missing field `limit` at line 1 column 16',
    );
    const text = await fetch(`${base}/collections/c/points/search`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ vector: [1, 2], limit: 1 }),
    });
    expect(text.status).toBe(400);
    expect(await text.json()).toEqual({ status: { error: 'Payload error: Content type error' }, time: 0 });
  });

  it('answers 400 (not 413) with actix overflow message past QDRANT__SERVICE__MAX_REQUEST_SIZE_MB', async () => {
    const { base } = await start({ QDRANT__SERVICE__MAX_REQUEST_SIZE_MB: '1' });
    await send('PUT', `${base}/collections/c`, { vectors: { size: 2, distance: 'Dot' } });
    const big = JSON.stringify({
      points: [{ id: 1, vector: [1, 2], payload: { text: 'x'.repeat(1024 * 1024) } }],
    });
    const res = await send('PUT', `${base}/collections/c/points`, big);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      status: {
        error: `Payload error: JSON payload (${Buffer.byteLength(big)} bytes) is larger than allowed (limit: 1048576 bytes).`,
      },
      time: 0,
    });
  });
});

describe('API key', () => {
  it('guards every route but / and the probes, answering 401 in plain text', async () => {
    const { base } = await start({ QDRANT__SERVICE__API_KEY: 'sekret' });
    const missing = await fetch(`${base}/collections`);
    expect(missing.status).toBe(401);
    expect(await missing.text()).toBe('Must provide an API key or an Authorization bearer token');
    for (const headers of [{ 'api-key': 'wrong' }, { authorization: 'Bearer wrong' }] as Record<
      string,
      string
    >[]) {
      const res = await fetch(`${base}/collections`, { headers });
      expect(res.status).toBe(401);
      expect(await res.text()).toBe('Invalid API key or JWT');
    }
    // A bare key without "Bearer " is no key at all.
    expect(await (await fetch(`${base}/collections`, { headers: { authorization: 'sekret' } })).text()).toBe(
      'Must provide an API key or an Authorization bearer token',
    );
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    expect((await fetch(`${base}/unknown`)).status).toBe(401);

    expect((await fetch(`${base}/collections`, { headers: { 'api-key': 'sekret' } })).status).toBe(200);
    expect((await fetch(`${base}/collections`, { headers: { authorization: 'Bearer sekret' } })).status).toBe(
      200,
    );
    expect((await fetch(`${base}/metrics`, { headers: { 'api-key': 'sekret' } })).status).toBe(200);
    for (const path of ['/', '/healthz', '/livez', '/readyz'])
      expect((await fetch(`${base}${path}`)).status).toBe(200);
  });

  it('lets a read-only key read but answers 403 to its writes', async () => {
    const { base } = await start({
      QDRANT__SERVICE__API_KEY: 'rw',
      QDRANT__SERVICE__READ_ONLY_API_KEY: 'ro',
    });
    const rw = { 'api-key': 'rw' };
    const ro = { 'api-key': 'ro' };
    await send('PUT', `${base}/collections/c`, { vectors: { size: 2, distance: 'Dot' } }, rw);
    await send('PUT', `${base}/collections/c/points?wait=true`, { points: [{ id: 1, vector: [1, 0] }] }, rw);

    expect((await fetch(`${base}/collections/c`, { headers: ro })).status).toBe(200);
    expect(
      (await send('POST', `${base}/collections/c/points/search`, { vector: [1, 0], limit: 1 }, ro)).status,
    ).toBe(200);
    for (const res of [
      await send('PUT', `${base}/collections/d`, { vectors: { size: 2, distance: 'Dot' } }, ro),
      await send('PUT', `${base}/collections/c/points`, { points: [] }, ro),
      await send('POST', `${base}/collections/c/points/delete`, { points: [1] }, ro),
      await send('DELETE', `${base}/collections/c`, undefined, ro),
    ]) {
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({
        status: { error: 'Forbidden: Global manage access is required' },
      });
    }
    expect(await json(send('POST', `${base}/collections/c/points/count`, {}, ro))).toMatchObject({
      result: { count: 1 },
    });
  });
});

describe('metrics', () => {
  it('exposes Qdrant metric names, updated by traffic', async () => {
    const { base } = await start();
    await seed(base, 'c', 'Dot');
    await send('POST', `${base}/collections/c/points/search`, { vector: [1, 0, 0], limit: 1 });
    await send('POST', `${base}/collections/c/points/search`, { vector: [1, 0, 0], limit: 1 });
    await send('POST', `${base}/collections/nope/points/search`, { vector: [1, 0, 0], limit: 1 });

    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    const search = 'method="POST",endpoint="/collections/{name}/points/search"';
    const upsert = 'method="PUT",endpoint="/collections/{name}/points"';
    expect(text).toContain('app_info{name="qdrant",version="1.18.2"} 1');
    expect(text).toContain('collections_total 1');
    expect(text).toContain('collections_vector_total 4');
    expect(text).toContain(`rest_responses_total{${search},status="200"} 2`);
    expect(text).toContain(`rest_responses_total{${search},status="404"} 1`);
    expect(text).toContain(`rest_responses_total{${upsert},status="200"} 1`);
    expect(text).toContain(`rest_responses_duration_seconds_count{${search},status="200"} 2`);
    expect(text).toContain('# TYPE rest_responses_duration_seconds histogram');
    // Collection management is not metered by Qdrant.
    expect(text).not.toContain('endpoint="/collections/{name}"');
  });
});

describe('persistence', () => {
  it('keeps collections and points across a restart with QDRANT__STORAGE__STORAGE_PATH', async () => {
    const storage = await tempDir();
    const env = { QDRANT__STORAGE__STORAGE_PATH: storage };
    const first = await start(env);
    await seed(first.base, 'kept', 'Cosine');
    await seed(first.base, 'dropped', 'Dot');
    await send('DELETE', `${first.base}/collections/dropped`);
    // Not waited for: close() must still write it.
    await send('PUT', `${first.base}/collections/kept/points`, {
      points: [{ id: 9, vector: [0, 3, 4], payload: { late: true } }],
    });
    const before = await json<Envelope<Hit[]>>(
      send('POST', `${first.base}/collections/kept/points/search`, {
        vector: [3, 4, 0],
        limit: 10,
        with_vector: true,
      }),
    );
    await first.sim.close();
    expect(await readdir(join(storage, 'qdrant-sim', 'collections'))).toEqual(['kept.json']);

    const second = await start(env);
    expect(second.lines[0]).toContain(
      `(1 collections, storage ${join(storage, 'qdrant-sim', 'collections')})`,
    );
    expect(await json(fetch(`${second.base}/collections`))).toMatchObject({
      result: { collections: [{ name: 'kept' }] },
    });
    const after = await json<Envelope<Hit[]>>(
      send('POST', `${second.base}/collections/kept/points/search`, {
        vector: [3, 4, 0],
        limit: 10,
        with_vector: true,
      }),
    );
    expect(after.result).toEqual(before.result);
    expect(after.result).toHaveLength(5);
    // Operation ids go on where they stopped.
    expect(
      await json(
        send('PUT', `${second.base}/collections/kept/points?wait=true`, {
          points: [{ id: 10, vector: [1, 1, 1] }],
        }),
      ),
    ).toMatchObject({ result: { operation_id: 2 } });
  });
});

describe('simulator knobs', () => {
  it('answers collection routes with a Qdrant 500 when SIM_FAIL_RATE=1, health stays up', async () => {
    const { base } = await start({ SIM_FAIL_RATE: '1' });
    const res = await fetch(`${base}/collections`);
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({
      status: { error: 'Service internal error: Simulated failure (SIM_FAIL_RATE)' },
    });
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
  });

  it('fails the drawn fraction of requests', async () => {
    const draws = [0.1, 0.9];
    const { base } = await start({ SIM_FAIL_RATE: '0.5' }, { random: () => draws.shift() ?? 0 });
    expect((await fetch(`${base}/collections`)).status).toBe(500);
    expect((await fetch(`${base}/collections`)).status).toBe(200);
  });

  it('binds the port only after SIM_STARTUP_DELAY_MS', async () => {
    const config = loadSimConfig({
      QDRANT__SERVICE__HOST: '127.0.0.1',
      QDRANT__SERVICE__HTTP_PORT: '0',
      SIM_STARTUP_DELAY_MS: '200',
    });
    const began = performance.now();
    const sim = await startSim(config, { log: () => undefined });
    running.push(sim);
    expect(performance.now() - began).toBeGreaterThanOrEqual(190);
    expect(sim.server.listening).toBe(true);
  });

  it('never binds when stopped during the startup delay', async () => {
    const config = loadSimConfig({
      QDRANT__SERVICE__HOST: '127.0.0.1',
      QDRANT__SERVICE__HTTP_PORT: '0',
      SIM_STARTUP_DELAY_MS: '5000',
    });
    const stop = new AbortController();
    const starting = startSim(config, { log: () => undefined, signal: stop.signal });
    stop.abort();
    await expect(starting).rejects.toThrow();
  });

  it('searches 10k points of 384 dimensions over HTTP quickly', async () => {
    const { base } = await start();
    await send('PUT', `${base}/collections/big`, { vectors: { size: 384, distance: 'Cosine' } });
    let seedValue = 7;
    const random = (): number => {
      seedValue = (seedValue * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seedValue / 2_147_483_648 - 0.5;
    };
    for (let batch = 0; batch < 10; batch++) {
      const points = Array.from({ length: 1000 }, (_, i) => ({
        id: batch * 1000 + i,
        vector: Array.from({ length: 384 }, random),
        payload: { batch },
      }));
      expect((await send('PUT', `${base}/collections/big/points?wait=true`, { points })).status).toBe(200);
    }
    const query = { vector: Array.from({ length: 384 }, random), limit: 10 };
    await send('POST', `${base}/collections/big/points/search`, query);
    const began = performance.now();
    const hits = await json<Envelope<Hit[]>>(send('POST', `${base}/collections/big/points/search`, query));
    // Generous for loaded CI machines; an idle laptop answers in a few milliseconds.
    expect(performance.now() - began).toBeLessThan(500);
    expect(hits.result).toHaveLength(10);
  }, 30_000);
});
