import { routeTemplate, UNMATCHED_ROUTE } from './route-template';

describe('routeTemplate', () => {
  it.each<[Parameters<typeof routeTemplate>, string]>([
    [['gateway', 'GET', '/api/v1/services'], '/api/v1/services'],
    [['gateway', 'POST', '/api/v1/services'], '/api/v1/services'],
    // The literal route, not the parameterised one that would also match.
    [['gateway', 'GET', '/api/v1/services/targets'], '/api/v1/services/targets'],
    [['gateway', 'GET', '/api/v1/services/3652098?x=1'], '/api/v1/services/:id'],
    [['gateway', 'POST', '/api/v1/vllm/3652098/prompt'], '/api/v1/vllm/:id/prompt'],
    [['gateway', 'GET', '/api/v1/metrics/proxy'], '/api/v1/metrics/:app'],
    [['gateway', 'POST', '/v1/chat/completions'], '/v1/chat/completions'],
    [['gateway', 'GET', '/v1/models'], '/v1/models'],
    [['gateway', 'POST', '/v1/some/new/endpoint'], '/v1/*'],
    [['gateway', 'POST', '/api/v1/vllm/sg-12/v1/completions'], '/api/v1/vllm/:id/v1/completions'],
    [
      ['gateway', 'PUT', '/api/v1/vector-db/12/qdrant/collections/c/points?wait=true'],
      '/api/v1/vector-db/:id/qdrant/*',
    ],
    [['gateway', 'GET', '/docs'], '/docs'],
    [['gateway', 'GET', '/health'], '/health'],
    [['orchestrator', 'GET', '/api/services/12/logs?lines=5'], '/api/services/:id/logs'],
    [
      ['orchestrator', 'POST', '/api/services/vllm/12/v1/chat/completions'],
      '/api/services/vllm/:id/v1/chat/completions',
    ],
    [['orchestrator', 'GET', '/api/metrics/slurm-worker'], '/api/metrics/:app'],
    [['proxy', 'GET', '/api/services/12/metrics'], '/api/services/:id/metrics'],
    [['proxy', 'GET', '/health'], '/health'],
  ])('%j is %s', (args, template) => {
    expect(routeTemplate(...args)).toBe(template);
  });

  it.each<Parameters<typeof routeTemplate>>([
    ['gateway', 'GET', '/wp-admin/setup.php'],
    ['gateway', 'DELETE', '/api/v1/recipes'],
    ['gateway', 'GET', '/api/v1/services/1/2/3/4'],
    ['orchestrator', 'GET', '/api/v1/services'],
    ['proxy', 'GET', '/api/recipes'],
  ])('counts %j as unmatched, one label for every path nothing serves', (...args) => {
    expect(routeTemplate(...args)).toBe(UNMATCHED_ROUTE);
  });
});
