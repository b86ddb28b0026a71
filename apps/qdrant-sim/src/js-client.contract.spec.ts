import { QdrantClient } from '@qdrant/js-client-rest';
import { loadSimConfig } from './sim.config';
import { SimServer } from './sim.server';

// The official client is what users point at the Qdrant pass-through, so the simulator must
// satisfy it, its one-minor-version compatibility check included.
const API_KEY = 'contract-key';

describe('@qdrant/js-client-rest against qdrant-sim', () => {
  let sim: SimServer;
  let client: QdrantClient;
  let url: string;
  const clientUrl = (): string => url;
  const warnings: unknown[][] = [];

  beforeAll(async () => {
    sim = new SimServer(
      loadSimConfig({
        QDRANT__SERVICE__HOST: '127.0.0.1',
        QDRANT__SERVICE__HTTP_PORT: '0',
        QDRANT__SERVICE__API_KEY: API_KEY,
      }),
      { log: () => undefined },
    );
    const { port } = await sim.listen();
    jest.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
      warnings.push(args);
    });
    url = `http://127.0.0.1:${port}`;
    client = new QdrantClient({ url, apiKey: API_KEY });
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    await sim.close();
  });

  it('passes the client version check', async () => {
    expect((await client.versionInfo()).version).toBe(sim.config.version);
    // The check runs once, in the background of the first request; give it a turn to report.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(warnings.filter((args) => /incompatible/i.test(String(args[0])))).toEqual([]);
  });

  it('creates, fills, searches, counts and drops a collection', async () => {
    expect(await client.createCollection('docs', { vectors: { size: 3, distance: 'Cosine' } })).toBe(true);
    expect(await client.collectionExists('docs')).toEqual({ exists: true });
    expect((await client.getCollections()).collections).toEqual([{ name: 'docs' }]);
    const upsert = await client.upsert('docs', {
      wait: true,
      points: [
        { id: 1, vector: [1, 0, 0], payload: { city: 'Berlin' } },
        { id: 2, vector: [0, 1, 0], payload: { city: 'London' } },
      ],
    });
    expect(upsert.status).toBe('completed');
    const hits = await client.search('docs', { vector: [1, 0.1, 0], limit: 1, with_payload: true });
    expect(hits).toHaveLength(1);
    expect(hits[0]).toMatchObject({ id: 1, payload: { city: 'Berlin' } });
    expect((await client.count('docs', { exact: true })).count).toBe(2);
    expect(await client.deleteCollection('docs')).toBe(true);
  });

  describe('every call the product and its users make', () => {
    const name = 'cities';
    const cities = ['Berlin', 'London', 'Paris', 'Rome', 'Madrid', 'Vienna'];

    beforeAll(async () => {
      await client.createCollection(name, { vectors: { size: 4, distance: 'Cosine' } });
      const result = await client.upsert(name, {
        wait: true,
        points: cities.map((city, i) => ({
          id: i + 1,
          vector: [1, i / 10, 0, 0.5],
          payload: { city, rank: i + 1, europe: true },
        })),
      });
      expect(result).toEqual({ operation_id: expect.any(Number) as unknown, status: 'completed' });
    });

    afterAll(async () => {
      if ((await client.collectionExists(name)).exists) await client.deleteCollection(name);
    });

    it('reads the collection: list, exists, info', async () => {
      expect((await client.getCollections()).collections).toContainEqual({ name });
      expect(await client.collectionExists('nope')).toEqual({ exists: false });
      const info = await client.getCollection(name);
      expect(info).toMatchObject({
        status: 'green',
        points_count: 6,
        config: { params: { vectors: { size: 4, distance: 'Cosine' } } },
      });
    });

    it('searches with a filter, payload and vectors', async () => {
      const hits = await client.search(name, {
        vector: [1, 0.5, 0, 0.5],
        limit: 2,
        filter: { must: [{ key: 'rank', range: { gte: 2 } }] },
        with_payload: ['city'],
        with_vector: true,
      });
      expect(hits.map((h) => h.payload)).toEqual([{ city: 'Vienna' }, { city: 'Madrid' }]);
      expect(hits[1]).toEqual({
        id: 5,
        version: expect.any(Number) as unknown,
        score: expect.any(Number) as unknown,
        payload: { city: 'Madrid' },
        vector: expect.any(Array) as unknown,
      });
    });

    it('queries by vector, by point id and without a query (Query API)', async () => {
      const byVector = await client.query(name, { query: [1, 0, 0, 0.5], limit: 2, with_payload: true });
      expect(byVector.points.map((p) => p.id)).toEqual([1, 2]);
      expect(byVector.points[0]?.payload).toEqual({ city: 'Berlin', rank: 1, europe: true });
      expect(byVector.points[0]?.score).toBeCloseTo(1, 5);

      const nearest = await client.query(name, { query: { nearest: [1, 0, 0, 0.5] }, limit: 1 });
      expect(nearest.points).toEqual([
        { id: 1, version: expect.any(Number) as unknown, score: expect.any(Number) as unknown },
      ]);

      const byId = await client.query(name, { query: 3, limit: 2 });
      expect(byId.points.map((p) => p.id)).toEqual([4, 2]);

      const filtered = await client.query(name, {
        query: [1, 0, 0, 0.5],
        filter: { must_not: [{ key: 'city', match: { any: ['Berlin', 'London'] } }] },
        limit: 1,
        offset: 1,
      });
      expect(filtered.points.map((p) => p.id)).toEqual([4]);

      const inIdOrder = await client.query(name, { limit: 3, offset: 2 });
      expect(inIdOrder.points.map((p) => [p.id, p.score])).toEqual([
        [3, 0],
        [4, 0],
        [5, 0],
      ]);
    });

    it('scrolls pages, with and without a filter, payload and vectors', async () => {
      const first = await client.scroll(name, { limit: 4 });
      expect(first.points.map((p) => p.id)).toEqual([1, 2, 3, 4]);
      expect(first.points[0]).toEqual({ id: 1, payload: { city: 'Berlin', rank: 1, europe: true } });
      expect(first.next_page_offset).toBe(5);
      const second = await client.scroll(name, {
        limit: 4,
        offset: first.next_page_offset ?? undefined,
        with_payload: false,
        with_vector: true,
      });
      expect(second.points.map((p) => p.id)).toEqual([5, 6]);
      expect(second.points[0]?.payload).toBeUndefined();
      expect(second.points[0]?.vector).toHaveLength(4);
      expect(second.next_page_offset).toBeNull();

      const filtered = await client.scroll(name, {
        filter: { should: [{ key: 'city', match: { value: 'Rome' } }, { has_id: [2] }] },
      });
      expect(filtered.points.map((p) => p.id)).toEqual([2, 4]);
    });

    it('retrieves points by id and counts with a filter', async () => {
      const points = await client.retrieve(name, { ids: [2, 99, 1], with_vector: false });
      expect(points.map((p) => p.id)).toEqual([2, 1]);
      expect(points[0]).toEqual({ id: 2, payload: { city: 'London', rank: 2, europe: true } });
      const count = await client.count(name, { filter: { must: [{ key: 'rank', range: { lt: 3 } }] } });
      expect(count).toEqual({ count: 2 });
    });

    it('deletes points by id and by filter', async () => {
      expect((await client.delete(name, { wait: true, points: [6] })).status).toBe('completed');
      expect(
        (
          await client.delete(name, {
            wait: true,
            filter: { must: [{ key: 'city', match: { value: 'Madrid' } }] },
          })
        ).status,
      ).toBe('completed');
      expect((await client.count(name)).count).toBe(4);
    });

    it("answers a missing collection with Qdrant's 404", async () => {
      await expect(client.getCollection('missing')).rejects.toMatchObject({
        status: 404,
        data: {
          status: { error: "Not found: Collection `missing` doesn't exist!" },
          time: expect.any(Number) as unknown,
        },
      });
      await expect(client.search('missing', { vector: [1, 0, 0, 0], limit: 1 })).rejects.toMatchObject({
        status: 404,
      });
      await expect(client.query(name, { query: 404, limit: 1 })).rejects.toMatchObject({
        status: 404,
        data: { status: { error: 'Not found: No point with id 404 found' } },
      });
    });

    it('needs the API key', async () => {
      const anonymous = new QdrantClient({ url: clientUrl(), checkCompatibility: false });
      await expect(anonymous.getCollections()).rejects.toMatchObject({ status: 401 });
    });

    it('drops the collection', async () => {
      expect(await client.deleteCollection(name)).toBe(true);
      expect(await client.collectionExists(name)).toEqual({ exists: false });
    });
  });
});
