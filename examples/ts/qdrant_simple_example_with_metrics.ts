/**
 * The Qdrant example plus its Prometheus metrics, read through the gateway.
 *
 *   node dist/examples/ts/qdrant_simple_example_with_metrics.js [--gateway URL]
 *
 * The metrics are Qdrant's own (collections_total, rest_responses_total, ...) with `service_id` and
 * `replica_id` labels added to every sample.
 */
import { check, cleanup, Gateway, parseOptions, runExample, sampleLines, say } from './client';
import {
  createCollection,
  createService,
  deleteCollection,
  fillAndSearch,
  QDRANT_OPTIONS,
  waitUntilReady,
} from './qdrant_simple_example';

const SHOWN_SAMPLES = 8;

async function showMetrics(gateway: Gateway, id: string): Promise<void> {
  const path = `/vector-db/${id}/metrics`;
  say(`GET ${path}`);
  const text = await gateway.text(path);
  // aiplane_* samples are the gateway's own; the rest are Qdrant's.
  const samples = sampleLines(text).filter((line) => !line.startsWith('aiplane_'));
  check(samples.length > 0, `${path} has no Qdrant samples:\n${text.slice(0, 2000)}`);
  for (const line of samples.slice(0, SHOWN_SAMPLES)) say(`  ${line}`);
  say(`  ... ${samples.length} Qdrant samples in all`);
  const label = `service_id="${id}"`;
  check(
    samples.every((line) => line.includes(label)),
    `some samples of ${path} lack the label ${label}`,
  );
  say(`  every sample carries ${label}`);
  const collections = samples.find((line) => line.startsWith('collections_total'));
  check(collections, `${path} has no collections_total sample`);
  say(`  ${collections}`);
}

async function main(): Promise<void> {
  const options = parseOptions('The Qdrant example plus its Prometheus metrics.', QDRANT_OPTIONS);
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
      // While the collection exists, so that it is counted.
      await showMetrics(gateway, id);
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
