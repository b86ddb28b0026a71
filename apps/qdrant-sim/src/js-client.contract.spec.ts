import { QdrantClient } from '@qdrant/js-client-rest';
import { loadSimConfig } from './sim.config';
import { SimServer } from './sim.server';

// The official client is what users point at the Qdrant pass-through, so the simulator must
// satisfy it, its one-minor-version compatibility check included.
const API_KEY = 'contract-key';

describe('@qdrant/js-client-rest against qdrant-sim', () => {
  let sim: SimServer;
  let client: QdrantClient;
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
    client = new QdrantClient({ url: `http://127.0.0.1:${port}`, apiKey: API_KEY });
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
});
