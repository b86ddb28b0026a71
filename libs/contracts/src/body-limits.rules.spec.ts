import { bodyLimitFor, CONTROL_BODY_LIMIT } from './body-limits.rules';
import { OPENAI_BODY_LIMIT, VECTOR_BODY_LIMIT } from './data-plane';

describe('body limits', () => {
  it.each([
    ['gateway', 'POST', '/api/v1/services', CONTROL_BODY_LIMIT],
    ['orchestrator', 'POST', '/api/services', CONTROL_BODY_LIMIT],
    ['orchestrator', 'POST', '/api/service-groups/sg-1/cancel', CONTROL_BODY_LIMIT],
    ['gateway', 'POST', '/v1/chat/completions', OPENAI_BODY_LIMIT],
    ['gateway', 'PUT', '/api/v1/vector-db/9/collections/c/points', VECTOR_BODY_LIMIT],
    ['orchestrator', 'PUT', '/api/services/vector-db/9/qdrant/collections/c/points', VECTOR_BODY_LIMIT],
    // An id the pass-through refuses: its body is never read, so the small limit.
    ['gateway', 'PUT', '/api/v1/vector-db/..%2f/collections/c/points', CONTROL_BODY_LIMIT],
  ] as const)('%s %s %s: %d bytes', (hop, method, url, limit) => {
    expect(bodyLimitFor(hop, method, url)).toBe(limit);
  });

  it('keeps control-plane bodies at 1 MiB and only vector bodies at 32 MiB', () => {
    expect(CONTROL_BODY_LIMIT).toBe(1024 * 1024);
    expect(VECTOR_BODY_LIMIT).toBe(32 * 1024 * 1024);
  });
});
