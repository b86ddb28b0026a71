/**
 * The vLLM example plus its Prometheus metrics, read through the gateway.
 *
 *   node dist/examples/ts/vllm_simple_example_with_metrics.js [--gateway URL]
 *
 * Both metrics routes answer Prometheus text with `service_id` and `replica_id` labels added to
 * every sample, ready for a Prometheus scrape.
 */
import { check, cleanup, Gateway, integerOption, parseOptions, runExample, sampleLines, say } from './client';
import { createService, sendPrompt, VLLM_OPTIONS, waitUntilReady } from './vllm_simple_example';

const SHOWN_SAMPLES = 6;

async function showMetrics(gateway: Gateway, path: string, id: string, prefix: string): Promise<void> {
  say(`GET ${path}`);
  const text = await gateway.text(path);
  const samples = sampleLines(text, prefix);
  check(samples.length > 0, `${path} has no '${prefix}' samples:\n${text.slice(0, 2000)}`);
  for (const line of samples.slice(0, SHOWN_SAMPLES)) say(`  ${line}`);
  say(`  ... ${samples.length} '${prefix}' samples in all`);
  const label = `service_id="${id}"`;
  check(
    samples.every((line) => line.includes(label)),
    `some '${prefix}' samples of ${path} lack the label ${label}`,
  );
  say(`  every sample carries ${label}`);
}

async function main(): Promise<void> {
  const options = parseOptions('The vLLM example plus its Prometheus metrics.', VLLM_OPTIONS);
  const gateway = new Gateway(options.gateway);
  say(`Gateway: ${gateway.base}`);
  let createdId: string | undefined;
  try {
    let id = options.values['service-id'];
    if (id === undefined) id = createdId = await createService(gateway, options.values.model);
    await waitUntilReady(gateway, id, options.timeoutMs);
    // A prompt first, so that the request and token counters are not zero.
    await sendPrompt(gateway, id, options.values.prompt ?? '', integerOption(options, 'max-tokens') ?? 100);
    for (const path of [`/vllm/${id}/metrics`, `/services/${id}/metrics`]) {
      await showMetrics(gateway, path, id, 'vllm:');
    }
  } finally {
    if (createdId !== undefined) {
      const id = createdId;
      await cleanup(() => gateway.cancelService(id));
    }
  }
}

if (require.main === module) runExample(main);
