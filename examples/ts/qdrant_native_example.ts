/**
 * Qdrant's own REST API through the gateway, with the official JS client: create a Qdrant service,
 * then create a collection, upsert, search, scroll and delete with `@qdrant/js-client-rest`.
 *
 *   npm install @qdrant/js-client-rest      # a devDependency here
 *   node dist/examples/ts/qdrant_native_example.js [--gateway URL]
 *
 * The client is unmodified: its URL is the service's pass-through prefix,
 * `<gateway>/api/v1/vector-db/{id}/qdrant`. The gateway adds the service's own key, so the client
 * needs none. Pass --service-id to use a Qdrant service that is already running; it is left running.
 */
import { QdrantClient } from '@qdrant/js-client-rest';
import {
  check,
  cleanup,
  ExampleError,
  Gateway,
  parseOptions,
  runExample,
  say,
  type OptionSpec,
} from './client';

const RECIPE = 'vector-db/qdrant';
const COLLECTION = 'native_documents';
const POINTS = [
  { id: 1, vector: [0.1, 0.2, 0.3, 0.4], payload: { text: 'First document', lang: 'en' } },
  { id: 2, vector: [0.4, 0.5, 0.6, 0.7], payload: { text: 'Second document', lang: 'en' } },
  {
    id: '5c56c793-69f3-4fbf-87e6-c4bf54c28c26',
    vector: [0.9, 0.1, 0.0, 0.2],
    payload: { text: 'Troisième document', lang: 'fr' },
  },
];

const OPTIONS: Record<string, OptionSpec> = {
  'service-id': { help: 'use this running Qdrant service instead of creating one' },
};

/** The prefix under which the gateway serves a Qdrant service's native API. */
/**
 * Where the client reaches one service's Qdrant: the gateway's origin as `url`, the service's path
 * as `prefix` (the client takes only scheme, host and port from `url`).
 */
export function qdrantLocation(gateway: Gateway, id: string): { url: string; prefix: string } {
  const base = new URL(gateway.base);
  return { url: base.origin, prefix: `${base.pathname}/vector-db/${encodeURIComponent(id)}/qdrant` };
}

async function useQdrant(client: QdrantClient): Promise<void> {
  say(`Creating collection '${COLLECTION}' (4-d, Cosine)...`);
  await client.createCollection(COLLECTION, { vectors: { size: 4, distance: 'Cosine' } });
  try {
    const { collections } = await client.getCollections();
    say(`  collections: ${collections.map((entry) => entry.name).join(', ')}`);
    check(
      collections.some((entry) => entry.name === COLLECTION),
      `'${COLLECTION}' is not listed: ${JSON.stringify(collections)}`,
    );

    say(`Upserting ${POINTS.length} points...`);
    const upserted = await client.upsert(COLLECTION, { wait: true, points: POINTS });
    say(`  ${upserted.status} (operation ${upserted.operation_id ?? '?'})`);

    say('Searching for the points nearest to [0.1, 0.2, 0.3, 0.4]...');
    const hits = await client.search(COLLECTION, {
      vector: [0.1, 0.2, 0.3, 0.4],
      limit: 3,
      with_payload: true,
    });
    for (const hit of hits) {
      say(
        `  id=${JSON.stringify(hit.id).padEnd(40)} score=${hit.score.toFixed(4)} ${JSON.stringify(hit.payload)}`,
      );
    }
    check(hits[0]?.id === 1, `point 1 should match best: ${JSON.stringify(hits)}`);

    say("Scrolling through the points whose lang is 'en'...");
    const page = await client.scroll(COLLECTION, {
      filter: { must: [{ key: 'lang', match: { value: 'en' } }] },
      limit: 10,
      with_payload: true,
    });
    const ids = page.points.map((point) => point.id);
    say(`  ${JSON.stringify(ids)}`);
    check(
      ids.length === 2 && ids.includes(1) && ids.includes(2),
      `expected points 1 and 2: ${JSON.stringify(ids)}`,
    );

    say('Deleting point 2...');
    await client.delete(COLLECTION, { wait: true, points: [2] });
    const { count } = await client.count(COLLECTION, { exact: true });
    say(`  ${count} points left`);
    check(count === POINTS.length - 1, `expected ${POINTS.length - 1} points, counted ${count}`);
  } finally {
    await cleanup(async () => {
      say(`Deleting collection '${COLLECTION}'...`);
      await client.deleteCollection(COLLECTION);
    });
  }
}

async function main(): Promise<void> {
  const options = parseOptions("Qdrant's own API through the gateway, with the official JS client.", OPTIONS);
  const gateway = new Gateway(options.gateway);
  let createdId: string | undefined;
  try {
    let id = options.values['service-id'];
    if (id === undefined) {
      say(`Creating a service from recipe ${RECIPE}...`);
      const service = await gateway.createService(RECIPE);
      id = createdId = service.id;
      say(`  id ${service.id}, ${service.status}`);
    }
    say(`Waiting for service ${id} to be ready...`);
    await gateway.waitForService(id, options.timeoutMs);
    const location = qdrantLocation(gateway, id);
    say(`Qdrant: ${location.url}${location.prefix}`);
    // The version check would only print a warning; the example checks what it uses instead.
    await useQdrant(new QdrantClient({ ...location, checkCompatibility: false }));
  } catch (error) {
    // The client throws its fetcher's ApiError: say what Qdrant (or the gateway) answered.
    if (error instanceof Error && 'status' in error && 'data' in error) {
      throw new ExampleError(`HTTP ${String(error.status)}: ${JSON.stringify(error.data)}`);
    }
    throw error;
  } finally {
    if (createdId !== undefined) {
      const serviceId = createdId;
      await cleanup(() => gateway.cancelService(serviceId));
    }
  }
}

if (require.main === module) runExample(main);
