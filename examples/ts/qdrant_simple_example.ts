/**
 * Create a Qdrant service, store three documents, search them, clean up.
 *
 *   node dist/examples/ts/qdrant_simple_example.js [--gateway URL]
 *
 * Pass --service-id to use a Qdrant service that is already running; it is then left running (the
 * example's collection is still deleted).
 */
import {
  check,
  cleanup,
  Gateway,
  parseOptions,
  runExample,
  say,
  type OptionSpec,
  type ServiceRecord,
} from './client';

const RECIPE = 'vector-db/qdrant';
export const COLLECTION = 'my_documents';
const VECTOR_SIZE = 4;
// Point ids may be unsigned integers, UUIDs or any other string: the gateway keeps a string id such
// as "readme-intro" and returns it as it was sent.
const POINTS = [
  { id: 1, vector: [0.1, 0.2, 0.3, 0.4], payload: { text: 'First document' } },
  { id: 2, vector: [0.4, 0.5, 0.6, 0.7], payload: { text: 'Second document' } },
  { id: 'readme-intro', vector: [0.9, 0.1, 0.0, 0.2], payload: { text: 'A document with a string id' } },
];
const QUERY = [0.1, 0.2, 0.3, 0.4];

interface SearchAnswer {
  success: boolean;
  results: { id: number | string; score: number; payload: { text?: string } | null }[];
  num_results: number;
}

export const QDRANT_OPTIONS: Record<string, OptionSpec> = {
  'service-id': { help: 'use this running service instead of creating one' },
};

export async function createService(gateway: Gateway): Promise<string> {
  say(`Creating a service from recipe ${RECIPE}...`);
  const service = await gateway.createService(RECIPE);
  say(`  id ${service.id}, name ${service.name}, ${service.status}`);
  return service.id;
}

export async function waitUntilReady(gateway: Gateway, id: string, timeoutMs: number): Promise<void> {
  say(`Waiting for service ${id} to be ready...`);
  await gateway.waitForService(id, timeoutMs);
  const record = await gateway.get<ServiceRecord>(`/services/${id}`);
  say(`  serving at ${record.endpoint ?? '(unknown endpoint)'}`);
}

/** A 409 here means the collection already exists: it is left alone. */
export async function createCollection(gateway: Gateway, id: string): Promise<void> {
  say(`Creating collection '${COLLECTION}' (${VECTOR_SIZE}-d, Cosine)...`);
  await gateway.put(`/vector-db/${id}/collections/${COLLECTION}`, {
    vector_size: VECTOR_SIZE,
    distance: 'Cosine',
  });
}

export async function fillAndSearch(gateway: Gateway, id: string): Promise<void> {
  const base = `/vector-db/${id}/collections`;
  const { collections } = await gateway.get<{ collections: string[] }>(base);
  say(`  collections: ${collections.join(', ')}`);
  check(collections.includes(COLLECTION), `'${COLLECTION}' is not listed: ${collections.join(', ')}`);

  say(`Upserting ${POINTS.length} points...`);
  const upserted = await gateway.put<{ message: string }>(`${base}/${COLLECTION}/points`, { points: POINTS });
  say(`  ${upserted.message}`);

  say(`Searching for the points nearest to [${QUERY.join(', ')}]...`);
  const found = await gateway.post<SearchAnswer>(`${base}/${COLLECTION}/points/search`, {
    query_vector: QUERY,
    limit: 5,
  });
  for (const hit of found.results) {
    const shownId = JSON.stringify(hit.id).padEnd(16);
    say(`  id=${shownId} score=${hit.score.toFixed(4)} text=${JSON.stringify(hit.payload?.text ?? null)}`);
  }
  check(found.num_results === POINTS.length, `expected ${POINTS.length} results, got ${found.num_results}`);
  check(found.results[0]?.id === 1, `point 1 should match best: ${JSON.stringify(found.results)}`);
  const ids = found.results.map((hit) => hit.id);
  check(ids.includes('readme-intro'), `the string id did not come back: ${JSON.stringify(ids)}`);
}

export async function deleteCollection(gateway: Gateway, id: string): Promise<void> {
  say(`Deleting collection '${COLLECTION}'...`);
  await gateway.delete(`/vector-db/${id}/collections/${COLLECTION}`);
}

async function main(): Promise<void> {
  const options = parseOptions(
    'Create a Qdrant service, store and search documents, clean up.',
    QDRANT_OPTIONS,
  );
  const gateway = new Gateway(options.gateway);
  say(`Gateway: ${gateway.base}`);
  let createdId: string | undefined;
  try {
    let id = options.values['service-id'];
    if (id === undefined) id = createdId = await createService(gateway);
    await waitUntilReady(gateway, id, options.timeoutMs);
    await createCollection(gateway, id);
    try {
      await fillAndSearch(gateway, id);
    } finally {
      const serviceId = id;
      await cleanup(() => deleteCollection(gateway, serviceId));
    }
  } finally {
    if (createdId !== undefined) {
      const serviceId = createdId;
      await cleanup(() => gateway.cancelService(serviceId));
    }
  }
}

if (require.main === module) runExample(main);
