import { InvalidServiceIdError, matchPassThrough, OPENAI_BODY_LIMIT, VECTOR_BODY_LIMIT } from './data-plane';

describe('matchPassThrough', () => {
  it.each([
    ['gateway', 'GET', '/v1/models', '/v1/models', 'openai', null],
    ['gateway', 'POST', '/v1/chat/completions', '/v1/chat/completions', 'openai', null],
    [
      'gateway',
      'POST',
      '/api/v1/vllm/42/v1/completions',
      '/api/services/vllm/42/v1/completions',
      'openai',
      '42',
    ],
    ['gateway', 'POST', '/api/v1/vllm/sg-7/prompt', '/api/services/vllm/sg-7/prompt', 'prompt', 'sg-7'],
    ['gateway', 'GET', '/api/v1/vllm/7/models', '/api/services/vllm/7/models', 'route', '7'],
    [
      'gateway',
      'PUT',
      '/api/v1/vector-db/9/qdrant/collections/docs/points?wait=true',
      '/api/services/vector-db/9/qdrant/collections/docs/points?wait=true',
      'qdrant',
      '9',
    ],
    ['orchestrator', 'POST', '/v1/embeddings', '/v1/embeddings', 'openai', null],
    ['orchestrator', 'POST', '/api/services/vllm/42/prompt', '/api/services/vllm/42/prompt', 'prompt', '42'],
    [
      'orchestrator',
      'PUT',
      '/api/services/vector-db/9/collections/docs/points',
      '/api/services/vector-db/9/collections/docs/points',
      'route',
      '9',
    ],
  ] as const)('%s %s %s goes to the proxy at %s', (hop, method, url, proxyPath, kind, serviceId) => {
    expect(matchPassThrough(hop, method, url)).toMatchObject({ proxyPath, kind, serviceId });
  });

  it('bounds vector upserts and Qdrant at 32 MiB, the rest at 1 MiB', () => {
    expect(matchPassThrough('gateway', 'POST', '/v1/chat/completions')?.bodyLimit).toBe(OPENAI_BODY_LIMIT);
    expect(matchPassThrough('gateway', 'PUT', '/api/v1/vector-db/9/collections/c/points')?.bodyLimit).toBe(
      VECTOR_BODY_LIMIT,
    );
    expect(matchPassThrough('gateway', 'GET', '/api/v1/vector-db/9/qdrant/collections')?.bodyLimit).toBe(
      VECTOR_BODY_LIMIT,
    );
  });

  it('leaves the control plane alone', () => {
    expect(matchPassThrough('gateway', 'GET', '/api/v1/services')).toBeUndefined();
    expect(matchPassThrough('gateway', 'POST', '/api/v1/services')).toBeUndefined();
    expect(matchPassThrough('gateway', 'GET', '/api/v1/services/7/logs')).toBeUndefined();
    expect(matchPassThrough('gateway', 'GET', '/v10/models')).toBeUndefined();
    expect(matchPassThrough('gateway', 'GET', '/api/v1/vllm/7/prompt')).toBeUndefined();
  });

  it('refuses an id that cannot name a service before anything is forwarded', () => {
    expect(() => matchPassThrough('gateway', 'POST', '/api/v1/vllm/..%2F..%2Fx/prompt')).toThrow(
      InvalidServiceIdError,
    );
    expect(() => matchPassThrough('gateway', 'GET', '/api/v1/vector-db/abc/qdrant/collections')).toThrow(
      InvalidServiceIdError,
    );
  });

  it('answers the second question about the same request from the first, and every other afresh', () => {
    const first = matchPassThrough('gateway', 'POST', '/api/v1/vllm/42/prompt');
    expect(matchPassThrough('gateway', 'POST', '/api/v1/vllm/42/prompt')).toBe(first);
    expect(matchPassThrough('orchestrator', 'POST', '/api/v1/vllm/42/prompt')).toBeUndefined();
    expect(matchPassThrough('gateway', 'POST', '/api/v1/vllm/43/prompt')?.serviceId).toBe('43');
    expect(matchPassThrough('gateway', 'GET', '/api/v1/vllm/43/prompt')).toBeUndefined();
    // A refused id is refused every time, never remembered as an answer.
    for (let i = 0; i < 2; i += 1) {
      expect(() => matchPassThrough('gateway', 'POST', '/api/v1/vllm/..%2Fx/prompt')).toThrow(
        InvalidServiceIdError,
      );
    }
  });
});
