import { QdrantClient } from '@qdrant/js-client-rest';
import { OVERHEAD_HEADER } from '@aiplane/contracts';
import { waitForStatus, withStack } from '@aiplane/testing';

const PORTS = { gateway: 19021, orchestrator: 19020, proxy: 19023 };
const POINTS = [
  { id: 1, vector: [0.1, 0.2, 0.3, 0.4], payload: { text: 'first', lang: 'en' } },
  { id: 2, vector: [0.4, 0.5, 0.6, 0.7], payload: { text: 'second', lang: 'en' } },
  {
    id: '5c56c793-69f3-4fbf-87e6-c4bf54c28c26',
    vector: [0.9, 0.1, 0.0, 0.2],
    payload: { text: 'trois', lang: 'fr' },
  },
];

/** What the JS client throws for a non-2xx answer (openapi-typescript-fetch's ApiError). */
interface ClientApiError {
  status: number;
  data: unknown;
}

async function caught(promise: Promise<unknown>): Promise<ClientApiError> {
  try {
    await promise;
  } catch (error) {
    return error as ClientApiError;
  }
  throw new Error('expected the call to fail');
}

/** Create, upsert, search, scroll, count, delete, drop: what a RAG store does with Qdrant. */
async function exerciseCollection(client: QdrantClient, collection: string): Promise<void> {
  expect(await client.createCollection(collection, { vectors: { size: 4, distance: 'Cosine' } })).toBe(true);
  try {
    expect(await client.collectionExists(collection)).toEqual({ exists: true });
    expect((await client.getCollections()).collections.map((entry) => entry.name)).toContain(collection);
    expect(await client.upsert(collection, { wait: true, points: POINTS })).toMatchObject({
      status: 'completed',
    });

    const hits = await client.search(collection, {
      vector: [0.1, 0.2, 0.3, 0.4],
      limit: 3,
      with_payload: true,
    });
    expect(hits.map((hit) => hit.id)).toEqual([1, 2, POINTS[2]?.id]);
    expect(hits[0]).toMatchObject({ id: 1, payload: { text: 'first' } });
    expect(hits[0]?.score).toBeCloseTo(1, 5);

    const page = await client.scroll(collection, {
      filter: { must: [{ key: 'lang', match: { value: 'en' } }] },
      limit: 10,
      with_payload: true,
      with_vector: true,
    });
    expect(page.points.map((point) => point.id).sort()).toEqual([1, 2]);
    expect(page.next_page_offset ?? null).toBeNull();

    expect(await client.delete(collection, { wait: true, points: [2] })).toMatchObject({
      status: 'completed',
    });
    expect(await client.count(collection, { exact: true })).toEqual({ count: 2 });
    expect((await client.retrieve(collection, { ids: [1, 2] })).map((point) => point.id)).toEqual([1]);
  } finally {
    await client.deleteCollection(collection);
  }
  expect(await client.collectionExists(collection)).toEqual({ exists: false });
}

// Qdrant's own REST API, passed through unchanged under a service's prefix: the official JS client
// works with it as its prefix, on the gateway and on the orchestrator (for on-cluster clients).
describe("Qdrant's native API through the data plane (local executor)", () => {
  const suite = withStack(() => ({ label: 'qdrant-native', scheduler: 'local', ports: PORTS }));
  const { api } = suite;
  let id = '';
  // The client takes scheme, host and port from `url` and its path from `prefix`.
  const gatewayPrefix = (): { url: string; prefix: string } => ({
    url: suite.stack.gatewayUrl,
    prefix: `/api/v1/vector-db/${id}/qdrant`,
  });
  const orchestratorPrefix = (): { url: string; prefix: string } => ({
    url: suite.stack.orchestratorUrl,
    prefix: `/api/services/vector-db/${id}/qdrant`,
  });

  beforeAll(async () => {
    const created = await api<{ id: string }>('POST', '/api/v1/services', {
      recipe_name: 'vector-db/qdrant',
    });
    expect(created.status).toBe(200);
    id = created.body.id;
    await waitForStatus(api, id, ['running']);
  });

  it('the official JS client works unchanged with the gateway prefix as its URL', async () => {
    const client = new QdrantClient({ ...gatewayPrefix(), checkCompatibility: false });
    // The root answers Qdrant's version: what the client's own compatibility check reads.
    expect(await client.versionInfo()).toMatchObject({
      title: expect.stringMatching(/qdrant/i),
      version: expect.any(String),
    });
    await exerciseCollection(client, 'via_gateway');
  });

  it("Qdrant's own error for a missing collection comes back as it is", async () => {
    const client = new QdrantClient({ ...gatewayPrefix(), checkCompatibility: false });
    const qdrantAnswer = {
      status: { error: "Not found: Collection `no_such_collection` doesn't exist!" },
      time: expect.any(Number),
    };
    const error = await caught(client.getCollection('no_such_collection'));
    expect(error.status).toBe(404);
    expect(error.data).toEqual(qdrantAnswer);

    const raw = await api('GET', `/api/v1/vector-db/${id}/qdrant/collections/no_such_collection`);
    expect(raw.status).toBe(404);
    expect(raw.body).toEqual(qdrantAnswer);
    expect(raw.headers.get(OVERHEAD_HEADER)).toMatch(/^\d+(\.\d)?$/);
  });

  it("never forwards the client's key: the service's own is used, whatever the client sends", async () => {
    const client = new QdrantClient({
      ...gatewayPrefix(),
      checkCompatibility: false,
      // As a client configured for another Qdrant would send them; passed as headers, since the
      // apiKey option also switches the client to https.
      headers: { 'api-key': 'a-key-of-another-qdrant', authorization: 'Bearer not-this-one-either' },
    });
    await exerciseCollection(client, 'with_foreign_key');
  });

  it("works through the orchestrator's prefix with its bearer token, and not without it", async () => {
    const token = suite.stack.orchestratorToken;
    const client = new QdrantClient({
      ...orchestratorPrefix(),
      checkCompatibility: false,
      headers: { authorization: `Bearer ${token}` },
    });
    await exerciseCollection(client, 'via_orchestrator');

    const anonymous = new QdrantClient({ ...orchestratorPrefix(), checkCompatibility: false });
    expect((await caught(anonymous.getCollections())).status).toBe(401);
  });
});
