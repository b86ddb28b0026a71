import { proxyController } from '../data-plane/proxy-route.forwarder';

/** Prompts, served models and metrics of vLLM services: streamed to the proxy. */
export const VllmController = proxyController('VllmController', [
  'vllm.prompt',
  'vllm.models',
  'vllm.metrics',
]);
