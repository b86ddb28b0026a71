/*
 * The one route table: every path a client can call, on each hop it crosses. The gateway, the
 * orchestrator and their Swagger document are built from it, so a path can no longer differ between
 * the hop that sends a request and the hop that serves it. Plain data, no framework: any process
 * (or a CLI) may read it.
 */

export const GATEWAY_PREFIX = '/api/v1';
export const ORCHESTRATOR_PREFIX = '/api';
/** The proxy serves the data-plane routes at the orchestrator's own paths. */
export const PROXY_PREFIX = ORCHESTRATOR_PREFIX;

/** Most log lines one request may ask for (`?lines=`); the default is 200. */
export const MAX_LOG_LINES = 10_000;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/**
 * What a path parameter names; each hop checks it with the rule of its kind before anything is
 * forwarded. `name`: recipe, category and Hugging Face org/name segments.
 */
export type RouteParamKind = 'serviceId' | 'name' | 'collection';

export interface RouteParam {
  readonly kind: RouteParamKind;
  /** For the API document; a service id has a standard one. */
  readonly description?: string;
  /** A value the document shows, and the specs call the route with. */
  readonly example: string;
}

export interface RouteQueryParam {
  readonly name: string;
  /**
   * `int`: a whole number within [min, max]; `text`: one value of at most maxLength characters;
   * `bool`: `true` or `false`.
   */
  readonly type: 'int' | 'text' | 'bool';
  readonly min?: number;
  readonly max?: number;
  readonly maxLength?: number;
  /** `name`: letters, digits, `_`, `.`, `-` (as a `name` path parameter). */
  readonly pattern?: 'name';
  readonly description?: string;
  readonly example: string | number;
}

/** Request body contracts, by name; each HTTP layer maps a name to its validating DTO. */
export type BodyContract =
  'CreateService' | 'UpdateStatus' | 'Prompt' | 'CreateCollection' | 'UpsertPoints' | 'SearchPoints';

export type RouteTag =
  'services' | 'service-groups' | 'vllm' | 'vector-db' | 'recipes' | 'health' | 'metrics';

export interface RouteErrors {
  /**
   * `plain`: every error is `{statusCode, error, message}`. `dataPlane`: errors the service reports
   * keep the `{success:false, error, message}` envelope.
   */
  readonly envelope: 'plain' | 'dataPlane';
  /** Statuses beyond the ones every forwarded route can meet (503, 504). */
  readonly statuses: readonly number[];
}

export interface RouteDef {
  readonly method: HttpMethod;
  /** Public path, `:param` segments; absent for routes only on-cluster clients call. */
  readonly gateway?: string;
  /** Where the gateway sends it; absent for the gateway's own routes. */
  readonly orchestrator?: { readonly method: HttpMethod; readonly path: string };
  /** Where the orchestrator streams it on, with the orchestrator's method: the data plane. */
  readonly proxy?: string;
  readonly params?: Readonly<Record<string, RouteParam>>;
  /** The only query parameters forwarded; everything else the client sent stays behind. */
  readonly query?: readonly RouteQueryParam[];
  readonly body?: BodyContract;
  readonly status: 200 | 201;
  readonly tag: RouteTag;
  readonly summary: string;
  readonly description?: string;
  /** A legacy route: answers with `Deprecation` and a `Link` to its successor (a route id). */
  readonly successor?: string;
  readonly errors?: RouteErrors;
}

const SERVICE_ID: RouteParam = { kind: 'serviceId', example: '3652098' };
const COLLECTION: RouteParam = {
  kind: 'collection',
  description: 'Collection name',
  example: 'my_documents',
};
const RECIPE_NAME: RouteParam = { kind: 'name', description: 'Recipe name', example: 'vllm-single-node' };

const plain = (...statuses: number[]): RouteErrors => ({ envelope: 'plain', statuses });
const dataPlane = (...statuses: number[]): RouteErrors => ({ envelope: 'dataPlane', statuses });

/**
 * Keyed `<controller>.<operation>`: the gateway's controller class and method (so its OpenAPI
 * operation ids), in the order each app registers them. A literal path must come before a
 * parameterised one that would match it (services/targets before services/:id).
 */
export const ROUTES = {
  'services.create': {
    method: 'POST',
    gateway: '/api/v1/services',
    orchestrator: { method: 'POST', path: '/api/services/start' },
    body: 'CreateService',
    // Not 201: the document's own system answers 200, and its clients check for exactly that.
    status: 200,
    tag: 'services',
    summary: 'Start a service from a recipe',
    description:
      'Submits a SLURM job for the recipe. Recipes with `gpu_per_replica` create a replica group ' +
      '(gpu ÷ gpu_per_replica replicas per node) and return the group record.',
    errors: plain(400, 404, 413, 422, 429, 502),
  },
  'services.list': {
    method: 'GET',
    gateway: '/api/v1/services',
    orchestrator: { method: 'GET', path: '/api/services' },
    status: 200,
    tag: 'services',
    summary: 'List services and replica groups',
    errors: plain(),
  },
  'services.targets': {
    method: 'GET',
    gateway: '/api/v1/services/targets',
    orchestrator: { method: 'GET', path: '/api/services/targets' },
    status: 200,
    tag: 'services',
    summary: 'Prometheus HTTP service discovery',
    description:
      'For `http_sd_configs`: one target group per serving service (`running`) or replica group ' +
      '(`running`, `partially_running`, `degraded`). Targets point at this gateway, at the host:port ' +
      'you called it with, and `__metrics_path__` at `/api/v1/services/{id}/metrics`, which adds the ' +
      "workload's key (a workload's own port refuses every scrape without it) and merges a group's " +
      'replicas. Labels: `service_id`, `recipe_name`, `kind`; the scraped samples carry `service_id` ' +
      'and `replica_id` themselves, so set `honor_labels: true` in the scrape config to keep them.',
    errors: plain(),
  },
  'services.get': {
    method: 'GET',
    gateway: '/api/v1/services/:id',
    orchestrator: { method: 'GET', path: '/api/services/:id' },
    params: { id: SERVICE_ID },
    status: 200,
    tag: 'services',
    summary: 'Get a service (or group) record',
    errors: plain(400, 404),
  },
  'services.status': {
    method: 'GET',
    gateway: '/api/v1/services/:id/status',
    orchestrator: { method: 'GET', path: '/api/services/:id/status' },
    params: { id: SERVICE_ID },
    status: 200,
    tag: 'services',
    summary: 'Get the status of a service',
    description: '`running` means a prompt sent now will be served.',
    errors: plain(400, 404),
  },
  'services.updateStatus': {
    method: 'POST',
    gateway: '/api/v1/services/:id/status',
    orchestrator: { method: 'POST', path: '/api/services/:id/status' },
    params: { id: SERVICE_ID },
    body: 'UpdateStatus',
    status: 200,
    tag: 'services',
    summary: 'Stop a service (recommended)',
    description:
      'Cancels the SLURM job; the record stays, with its history, for analysis. Cancelling twice is 200.',
    errors: plain(400, 404, 413, 502),
  },
  'services.stop': {
    method: 'DELETE',
    gateway: '/api/v1/services/:id',
    orchestrator: { method: 'POST', path: '/api/services/stop/:id' },
    params: { id: SERVICE_ID },
    status: 200,
    tag: 'services',
    summary: 'Stop a service (legacy)',
    description:
      'Same effect as `POST /api/v1/services/{id}/status {"status":"cancelled"}`, which replaces it.',
    successor: 'services.updateStatus',
    errors: plain(400, 404, 502),
  },
  /** The orchestrator's own spelling of the legacy stop, for on-cluster clients. */
  'services.remove': {
    method: 'DELETE',
    orchestrator: { method: 'DELETE', path: '/api/services/:id' },
    params: { id: SERVICE_ID },
    status: 200,
    tag: 'services',
    summary: 'Stop a service (legacy)',
    successor: 'services.updateStatus',
  },
  'services.logs': {
    method: 'GET',
    gateway: '/api/v1/services/:id/logs',
    orchestrator: { method: 'GET', path: '/api/services/:id/logs' },
    params: { id: SERVICE_ID },
    query: [
      {
        name: 'lines',
        type: 'int',
        min: 1,
        max: MAX_LOG_LINES,
        description: `How many last lines (1-${MAX_LOG_LINES}, default 200)`,
        example: 200,
      },
      {
        name: 'follow',
        type: 'bool',
        description:
          'true: after the last lines, stream new ones as they are written (text/plain, chunked) until the ' +
          'job ends or the client disconnects',
        example: 'false',
      },
    ],
    status: 200,
    tag: 'services',
    summary: 'Get the logs of a service',
    description:
      'Last lines of stdout and stderr (each replica for groups), in sections headed ' +
      '`=== STDOUT ===`, `=== STDERR ===`, `=== REPLICA <id> ===`.',
    errors: plain(400, 404),
  },
  'services.metrics': {
    method: 'GET',
    gateway: '/api/v1/services/:id/metrics',
    orchestrator: { method: 'GET', path: '/api/services/:id/metrics' },
    proxy: '/api/services/:id/metrics',
    params: { id: SERVICE_ID },
    status: 200,
    tag: 'services',
    summary: "Prometheus metrics of a service's workload (all replicas for a group)",
    errors: plain(400, 404, 502),
  },

  'serviceGroups.list': {
    method: 'GET',
    gateway: '/api/v1/service-groups',
    orchestrator: { method: 'GET', path: '/api/service-groups' },
    status: 200,
    tag: 'service-groups',
    summary: 'List replica groups with their aggregate status',
    errors: plain(),
  },
  'serviceGroups.get': {
    method: 'GET',
    gateway: '/api/v1/service-groups/:id',
    orchestrator: { method: 'GET', path: '/api/service-groups/:id' },
    params: { id: SERVICE_ID },
    status: 200,
    tag: 'service-groups',
    summary: 'Get a replica group',
    description:
      'Replica count, job ids, nodes, ports and per-replica status. Accepts `sg-<job>` or the bare job id.',
    errors: plain(400, 404),
  },
  'serviceGroups.status': {
    method: 'GET',
    gateway: '/api/v1/service-groups/:id/status',
    orchestrator: { method: 'GET', path: '/api/service-groups/:id/status' },
    params: { id: SERVICE_ID },
    status: 200,
    tag: 'service-groups',
    summary: 'Aggregate status across all replicas',
    errors: plain(400, 404),
  },
  'serviceGroups.updateStatus': {
    method: 'POST',
    gateway: '/api/v1/service-groups/:id/status',
    orchestrator: { method: 'POST', path: '/api/service-groups/:id/status' },
    params: { id: SERVICE_ID },
    body: 'UpdateStatus',
    status: 200,
    tag: 'service-groups',
    summary: 'Stop a replica group (recommended)',
    description: 'Cancels the job(s) of every replica; the record stays for analysis.',
    errors: plain(400, 404, 413, 502),
  },
  'serviceGroups.stop': {
    method: 'DELETE',
    gateway: '/api/v1/service-groups/:id',
    orchestrator: { method: 'DELETE', path: '/api/service-groups/:id' },
    params: { id: SERVICE_ID },
    status: 200,
    tag: 'service-groups',
    summary: 'Stop a replica group (legacy)',
    description:
      'Same effect as `POST /api/v1/service-groups/{id}/status {"status":"cancelled"}`, which replaces it.',
    successor: 'serviceGroups.updateStatus',
    errors: plain(400, 404, 502),
  },

  'vllm.services': {
    method: 'GET',
    gateway: '/api/v1/vllm/services',
    orchestrator: { method: 'GET', path: '/api/services/vllm/services' },
    status: 200,
    tag: 'vllm',
    summary: 'List vLLM services with their endpoints',
    errors: plain(),
  },
  'vllm.availableModels': {
    method: 'GET',
    gateway: '/api/v1/vllm/available-models',
    orchestrator: { method: 'GET', path: '/api/services/vllm/available-models' },
    status: 200,
    tag: 'vllm',
    summary: 'Supported architectures, example models and resource guidelines',
    errors: plain(),
  },
  'vllm.searchModels': {
    method: 'GET',
    gateway: '/api/v1/vllm/search-models',
    orchestrator: { method: 'GET', path: '/api/services/vllm/search-models' },
    query: [
      { name: 'query', type: 'text', maxLength: 200, description: 'Free-text search', example: 'qwen' },
      {
        name: 'limit',
        type: 'int',
        min: 1,
        max: 100,
        description: 'At most this many results (1-100)',
        example: 10,
      },
      { name: 'architecture', type: 'text', maxLength: 128, pattern: 'name', example: 'Qwen2ForCausalLM' },
      {
        name: 'sort_by',
        type: 'text',
        maxLength: 64,
        pattern: 'name',
        description: 'Sort key',
        example: 'downloads',
      },
    ],
    status: 200,
    tag: 'vllm',
    summary: 'Search the Hugging Face Hub for models vLLM can serve',
    description: 'Calls the Hub from the cluster side; 503 when the Hub is unreachable.',
    errors: plain(400, 502),
  },
  'vllm.modelInfo': {
    method: 'GET',
    gateway: '/api/v1/vllm/model-info/:org/:name',
    orchestrator: { method: 'GET', path: '/api/services/vllm/model-info/:org/:name' },
    params: {
      org: { kind: 'name', description: 'Model owner on the Hub', example: 'Qwen' },
      name: { kind: 'name', description: 'Model name on the Hub', example: 'Qwen2.5-7B-Instruct' },
    },
    status: 200,
    tag: 'vllm',
    summary: 'Details of one Hugging Face model: architecture, size, vLLM compatibility',
    errors: plain(400, 404, 502),
  },
  /** Models published without an owner, as the document's VLLM_MODEL example `gpt2`. */
  'vllm.canonicalModelInfo': {
    method: 'GET',
    orchestrator: { method: 'GET', path: '/api/services/vllm/model-info/:name' },
    params: { name: { kind: 'name', description: 'Model name on the Hub', example: 'gpt2' } },
    status: 200,
    tag: 'vllm',
    summary: 'Details of one Hugging Face model published without an owner',
  },
  'vllm.models': {
    method: 'GET',
    gateway: '/api/v1/vllm/:id/models',
    orchestrator: { method: 'GET', path: '/api/services/vllm/:id/models' },
    proxy: '/api/services/vllm/:id/models',
    params: { id: SERVICE_ID },
    status: 200,
    tag: 'vllm',
    summary: 'Models a running vLLM service serves',
    errors: dataPlane(),
  },
  'vllm.prompt': {
    method: 'POST',
    gateway: '/api/v1/vllm/:id/prompt',
    orchestrator: { method: 'POST', path: '/api/services/vllm/:id/prompt' },
    proxy: '/api/services/vllm/:id/prompt',
    params: { id: SERVICE_ID },
    body: 'Prompt',
    status: 200,
    tag: 'vllm',
    summary: 'Send a prompt to a vLLM service or replica group',
    description:
      'Chat endpoint first, completions when the model has no chat template. Groups route round-robin ' +
      'over healthy replicas and add `routed_to`, `group_id`, `total_replicas`.',
    errors: dataPlane(),
  },
  'vllm.metrics': {
    method: 'GET',
    gateway: '/api/v1/vllm/:id/metrics',
    orchestrator: { method: 'GET', path: '/api/services/vllm/:id/metrics' },
    proxy: '/api/services/vllm/:id/metrics',
    params: { id: SERVICE_ID },
    status: 200,
    tag: 'vllm',
    summary: 'Prometheus metrics of a vLLM service (all replicas for a group)',
    errors: plain(400, 404, 502),
  },

  'vectorDb.services': {
    method: 'GET',
    gateway: '/api/v1/vector-db/services',
    orchestrator: { method: 'GET', path: '/api/services/vector-db/services' },
    status: 200,
    tag: 'vector-db',
    summary: 'List vector database (Qdrant) services',
    errors: plain(),
  },
  'vectorDb.collections': {
    method: 'GET',
    gateway: '/api/v1/vector-db/:id/collections',
    orchestrator: { method: 'GET', path: '/api/services/vector-db/:id/collections' },
    proxy: '/api/services/vector-db/:id/collections',
    params: { id: SERVICE_ID },
    status: 200,
    tag: 'vector-db',
    summary: 'List the collections of a Qdrant service',
    errors: dataPlane(),
  },
  'vectorDb.collection': {
    method: 'GET',
    gateway: '/api/v1/vector-db/:id/collections/:name',
    orchestrator: { method: 'GET', path: '/api/services/vector-db/:id/collections/:name' },
    proxy: '/api/services/vector-db/:id/collections/:name',
    params: { id: SERVICE_ID, name: COLLECTION },
    status: 200,
    tag: 'vector-db',
    summary: 'Get information about a collection',
    errors: dataPlane(),
  },
  'vectorDb.createCollection': {
    method: 'PUT',
    gateway: '/api/v1/vector-db/:id/collections/:name',
    orchestrator: { method: 'PUT', path: '/api/services/vector-db/:id/collections/:name' },
    proxy: '/api/services/vector-db/:id/collections/:name',
    params: { id: SERVICE_ID, name: COLLECTION },
    body: 'CreateCollection',
    status: 200,
    tag: 'vector-db',
    summary: 'Create a collection',
    description: '409 if it already exists.',
    errors: dataPlane(409),
  },
  'vectorDb.deleteCollection': {
    method: 'DELETE',
    gateway: '/api/v1/vector-db/:id/collections/:name',
    orchestrator: { method: 'DELETE', path: '/api/services/vector-db/:id/collections/:name' },
    proxy: '/api/services/vector-db/:id/collections/:name',
    params: { id: SERVICE_ID, name: COLLECTION },
    status: 200,
    tag: 'vector-db',
    summary: 'Delete a collection and its points',
    errors: dataPlane(),
  },
  'vectorDb.upsertPoints': {
    method: 'PUT',
    gateway: '/api/v1/vector-db/:id/collections/:name/points',
    orchestrator: { method: 'PUT', path: '/api/services/vector-db/:id/collections/:name/points' },
    proxy: '/api/services/vector-db/:id/collections/:name/points',
    params: { id: SERVICE_ID, name: COLLECTION },
    body: 'UpsertPoints',
    status: 200,
    tag: 'vector-db',
    summary: 'Insert or update points',
    description:
      'Ids may be unsigned integers, UUIDs or any other string (stored under a deterministic UUID, ' +
      "the original id kept and returned). Every vector must have the collection's size (400 otherwise).",
    errors: dataPlane(),
  },
  'vectorDb.search': {
    method: 'POST',
    gateway: '/api/v1/vector-db/:id/collections/:name/points/search',
    orchestrator: { method: 'POST', path: '/api/services/vector-db/:id/collections/:name/points/search' },
    proxy: '/api/services/vector-db/:id/collections/:name/points/search',
    params: { id: SERVICE_ID, name: COLLECTION },
    body: 'SearchPoints',
    status: 200,
    tag: 'vector-db',
    summary: 'Similarity search: the points nearest to a query vector',
    errors: dataPlane(),
  },
  'vectorDb.metrics': {
    method: 'GET',
    gateway: '/api/v1/vector-db/:id/metrics',
    orchestrator: { method: 'GET', path: '/api/services/vector-db/:id/metrics' },
    proxy: '/api/services/vector-db/:id/metrics',
    params: { id: SERVICE_ID },
    status: 200,
    tag: 'vector-db',
    summary: 'Prometheus metrics of a Qdrant service',
    errors: plain(400, 404, 502),
  },

  'recipes.list': {
    method: 'GET',
    gateway: '/api/v1/recipes',
    orchestrator: { method: 'GET', path: '/api/recipes' },
    status: 200,
    tag: 'recipes',
    summary: 'List the recipes services can be started from',
    errors: plain(),
  },
  'recipes.get': {
    method: 'GET',
    gateway: '/api/v1/recipes/:name',
    orchestrator: { method: 'GET', path: '/api/recipes/:name' },
    params: { name: RECIPE_NAME },
    status: 200,
    tag: 'recipes',
    summary: 'Get a recipe by bare name',
    description: 'Resources, ports, environment defaults and documented parameters.',
    errors: plain(400, 404),
  },
  'recipes.getInCategory': {
    method: 'GET',
    gateway: '/api/v1/recipes/:category/:name',
    orchestrator: { method: 'GET', path: '/api/recipes/:category/:name' },
    params: {
      category: { kind: 'name', description: 'Recipe category', example: 'inference' },
      name: RECIPE_NAME,
    },
    status: 200,
    tag: 'recipes',
    summary: 'Get a recipe by `category/name`',
    errors: plain(400, 404),
  },

  /**
   * The control plane's own Prometheus metrics, one app at a time: the gateway answers for itself,
   * the orchestrator for itself and, from the snapshots they publish to Redis, for the apps without
   * an HTTP server of their own (and the proxy, whose socket the gateway's scrape need not reach).
   */
  'metrics.app': {
    method: 'GET',
    gateway: '/api/v1/metrics/:app',
    orchestrator: { method: 'GET', path: '/api/metrics/:app' },
    params: {
      app: {
        kind: 'name',
        description: 'gateway, orchestrator, proxy, slurm-worker or health-prober',
        example: 'orchestrator',
      },
    },
    status: 200,
    tag: 'metrics',
    summary: "Prometheus metrics of one control-plane app (the control plane's own, not a workload's)",
    description:
      'Every series carries `app`. `GET /api/v1/services/targets` lists one target per app, so a ' +
      'Prometheus with `http_sd_configs` finds these as it finds the workloads. The slurm-worker, the ' +
      'health-prober and the proxy publish a snapshot every few seconds (`METRICS_PUBLISH_INTERVAL_MS`); ' +
      'an app with no fresh snapshot is a 503 that says so, which Prometheus records as `up == 0`.',
    errors: plain(400, 404),
  },

  /** The gateway's own health, outside /api/v1: it answers even when nothing behind it does. */
  'health.health': {
    method: 'GET',
    gateway: '/health',
    status: 200,
    tag: 'health',
    summary: 'Gateway health',
    description:
      '503 `starting` until the whole stack (orchestrator, Redis, a slurm-worker) has been ready once, so a ' +
      'script that waits for 200 here can create at once. From then on always 200 while the gateway runs: ' +
      '`healthy`, or `degraded` when the orchestrator does not answer. Whether a create would be accepted ' +
      'right now is `GET /ready`.',
  },
  'health.ready': {
    method: 'GET',
    gateway: '/ready',
    status: 200,
    tag: 'health',
    summary: 'Readiness: 200 while a create would be accepted now',
    description:
      '200 while the orchestrator, Redis and at least one slurm-worker are up; 503 saying which is not.',
  },
  /** The orchestrator's health, which the gateway's /health and /ready probe. */
  'health.orchestrator': {
    method: 'GET',
    orchestrator: { method: 'GET', path: '/api/health' },
    status: 200,
    tag: 'health',
    summary: 'Orchestrator health: 200 while its store answers',
  },
  /** Whether a create sent now would be accepted, which the gateway's /health and /ready ask. */
  'health.orchestratorReady': {
    method: 'GET',
    orchestrator: { method: 'GET', path: '/api/ready' },
    status: 200,
    tag: 'health',
    summary: 'Orchestrator readiness: 200 while its store answers and a slurm-worker consumes the queue',
  },
} as const satisfies Readonly<Record<string, RouteDef>>;

export type RouteId = keyof typeof ROUTES;
type Route<Id extends RouteId> = (typeof ROUTES)[Id];

/** `'/a/:id/b/:name'` → `'id' | 'name'`. */
export type PathParams<Path extends string> = Path extends `${string}:${infer Name}/${infer Rest}`
  ? Name | PathParams<`/${Rest}`>
  : Path extends `${string}:${infer Name}`
    ? Name
    : never;

/** The hops a route can be served on. */
export type Hop = 'gateway' | 'orchestrator' | 'proxy';

type PathOn<Id extends RouteId, On extends Hop> = On extends 'orchestrator'
  ? Route<Id> extends { orchestrator: { path: infer P extends string } }
    ? P
    : never
  : Route<Id> extends { [K in On]: infer P extends string }
    ? P
    : never;

/** The routes a hop serves. */
export type RouteOn<On extends Hop> = {
  [Id in RouteId]: [PathOn<Id, On>] extends [never] ? never : Id;
}[RouteId];

/** The parameters a route's path on one hop takes; none at all for a path without any. */
export type RouteParams<Id extends RouteId, On extends Hop> = [PathParams<PathOn<Id, On>>] extends [never]
  ? Readonly<Record<string, never>>
  : Readonly<Record<PathParams<PathOn<Id, On>>, string>>;

/**
 * Every `:param` of a route's paths is declared in its `params`, and every declared one is in its
 * gateway path: checked by the compiler, so a table entry cannot name a segment it never fills.
 */
type Declared<Id extends RouteId> = Route<Id> extends { params: infer P } ? keyof P : never;
type Undeclared = {
  [Id in RouteId]: Exclude<
    PathParams<PathOn<Id, 'gateway'> | PathOn<Id, 'orchestrator'> | PathOn<Id, 'proxy'>>,
    Declared<Id>
  > extends never
    ? never
    : Id;
}[RouteId];
type Assert<T extends true> = T;
// Fails to compile, naming the route, when a path has a parameter its entry does not declare.
type _EveryParamDeclared = Assert<[Undeclared] extends [never] ? true : Undeclared>;

/** A route's definition, widened to RouteDef for code that walks the table. */
export function routeDef(id: RouteId): RouteDef {
  return ROUTES[id];
}

export function routeIds(): RouteId[] {
  return Object.keys(ROUTES) as RouteId[];
}

/** The path of a route on one hop, or undefined when that hop does not serve it. */
export function pathPattern(id: RouteId, on: Hop): string | undefined {
  const route = routeDef(id);
  return on === 'orchestrator' ? route.orchestrator?.path : route[on];
}

/**
 * The path of `id` on hop `on` with its parameters filled in, each one percent-encoded so it can
 * never add a segment, a query or a fragment. Typed: the compiler insists on exactly the
 * parameters that hop's path names.
 */
export function routePath<Id extends RouteId, On extends Hop>(
  id: Id,
  on: On & (Id extends RouteOn<On> ? On : never),
  params: RouteParams<Id, On>,
): string {
  const pattern = pathPattern(id, on);
  if (pattern === undefined) throw new Error(`Route ${id} is not served on the ${on}`);
  return fillPath(pattern, params);
}

/** Fills `:param` segments from `params`; for code that only knows a route at run time. */
export function fillPath(pattern: string, params: Readonly<Record<string, string>>): string {
  return pattern.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (_match, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`Path ${pattern} needs parameter "${name}"`);
    return encodeURIComponent(value);
  });
}

/** The path of a route filled with its parameters' examples: what the document shows. */
export function examplePath(id: RouteId, on: Hop): string {
  const pattern = pathPattern(id, on);
  if (pattern === undefined) throw new Error(`Route ${id} is not served on the ${on}`);
  const params = Object.fromEntries(
    Object.entries(routeDef(id).params ?? {}).map(([name, param]) => [name, param.example]),
  );
  return fillPath(pattern, params);
}

/** The method a hop serves a route with: the proxy takes the orchestrator's. */
export function methodOn(id: RouteId, on: Hop): HttpMethod {
  const route = routeDef(id);
  return on === 'gateway' ? route.method : (route.orchestrator?.method ?? route.method);
}

/** A valid body of each contract: what the specs call every route with. */
export const EXAMPLE_BODIES: Readonly<Record<BodyContract, object>> = {
  CreateService: { recipe_name: 'inference/vllm-single-node' },
  UpdateStatus: { status: 'cancelled' },
  Prompt: { prompt: 'Tell me a joke about programming', max_tokens: 100 },
  CreateCollection: { vector_size: 4, distance: 'Cosine' },
  UpsertPoints: { points: [{ id: 1, vector: [0.1, 0.2, 0.3, 0.4], payload: { text: 'First document' } }] },
  SearchPoints: { query_vector: [0.1, 0.2, 0.3, 0.4], limit: 5 },
};

/** A route's query filled with its parameters' examples, `?a=1&b=x`, or '' when it takes none. */
export function exampleQuery(id: RouteId): string {
  const query = new URLSearchParams();
  for (const { name, example } of routeDef(id).query ?? []) query.append(name, String(example));
  const text = query.toString();
  return text ? `?${text}` : '';
}

/** Where a route sits below its hop's global prefix: what a framework's route decorator takes. */
export function servedPath<On extends Hop>(id: RouteOn<On>, on: On): string {
  const pattern = pathPattern(id, on);
  if (pattern === undefined) throw new Error(`Route ${id} is not served on the ${on}`);
  return pathBelow(
    { gateway: GATEWAY_PREFIX, orchestrator: ORCHESTRATOR_PREFIX, proxy: PROXY_PREFIX }[on],
    pattern,
  );
}

/** Where a path sits below an app's global prefix, as a framework registers it. */
function pathBelow(prefix: string, path: string): string {
  return path === prefix ? '' : path.startsWith(`${prefix}/`) ? path.slice(prefix.length + 1) : path.slice(1);
}

/** `text` with every regular-expression metacharacter escaped. */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A table path pattern (`/api/v1/services/:id/logs`) as a regular-expression source: literal
 * segments escaped, each `:name` segment replaced by what `param(name)` gives (a capture or not).
 */
export function patternSource(pattern: string, param: (name: string) => string): string {
  return pattern
    .split('/')
    .map((segment) => (segment.startsWith(':') ? param(segment.slice(1)) : escapeRegex(segment)))
    .join('/');
}
