import type { StoredService } from './registry.types';

/**
 * The credentials a workload was started with, as its server expects them: vLLM's OpenAI server
 * takes a bearer token, Qdrant its `api-key` header. A record from before keys existed has none,
 * and neither has its workload.
 */
export function workloadAuthHeaders(
  service: Pick<StoredService, 'kind' | 'api_key'>,
): Record<string, string> {
  if (service.api_key === undefined) return {};
  return service.kind === 'vllm'
    ? { authorization: `Bearer ${service.api_key}` }
    : { 'api-key': service.api_key };
}
