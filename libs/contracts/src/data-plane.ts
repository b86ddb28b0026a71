/*
 * The data plane's wire contract between hops: which requests are streamed through untouched to the
 * proxy (the one hop that routes and so the one that reads a body), what the proxy path of each is,
 * how large a body may be, and the timing headers every hop adds. Plain data, no framework.
 */
import {
  escapeRegex,
  GATEWAY_PREFIX,
  ORCHESTRATOR_PREFIX,
  patternSource,
  routeDef,
  routeIds,
  type RouteId,
} from './routes';
import { SERVICE_ID_PATTERN } from './service-id';

/** Time spent in the control plane, excluding the workload, in milliseconds: on every answer. */
export const OVERHEAD_HEADER = 'x-aiplane-overhead-ms';
/**
 * Time the workload took to its response headers, as the hop that called it measured; each outer
 * hop computes its own overhead as its total time minus this, and passes it on.
 */
export const WORKLOAD_TIME_HEADER = 'x-aiplane-workload-ms';

const MIB = 1024 * 1024;
/** `/v1` bodies and prompts. */
export const OPENAI_BODY_LIMIT = MIB;
/** Vector upserts and the Qdrant pass-through: "32 MB", as Qdrant's own default request limit. */
export const VECTOR_BODY_LIMIT = 32 * MIB;

/** What kind of pass-through a request is; the proxy handles each kind differently. */
export type PassThroughKind = 'openai' | 'prompt' | 'qdrant' | 'route';

/** Shared by the callers that ask about one request (matchPassThrough remembers the last): read-only. */
export interface PassThrough {
  readonly kind: PassThroughKind;
  /** The path (with the client's query string, where the route keeps one) the proxy serves it at. */
  readonly proxyPath: string;
  /** Bytes of body any hop accepts for it: more is 413 before anything is forwarded. */
  readonly bodyLimit: number;
  /** The service or group id in the path; null for the model-routed root `/v1/...`. */
  readonly serviceId: string | null;
  /** Table routes only. */
  readonly routeId?: RouteId;
}

/** A path that is a pass-through route but names no valid service id: 400, nothing forwarded. */
export class InvalidServiceIdError extends Error {
  readonly code = 'INVALID_SERVICE_ID';
}

export type PassThroughHop = 'gateway' | 'orchestrator';

interface Pattern {
  kind: PassThroughKind;
  method?: string;
  regex: RegExp;
  bodyLimit: number;
  /** The proxy path, from the captured id and rest (rest starts with '/'). */
  proxy: (id: string, rest: string) => string;
  routeId?: RouteId;
  /** A table route's parameter names, in path order. */
  names?: string[];
}

// Ids are captured loosely ([^/]+) so that a malformed one is refused by name, not passed to the
// control plane's 404.
const ID = '([^/?]+)';
const REST = '(/[^?]*)?';

function patternsFor(hop: PassThroughHop): Pattern[] {
  const vllmBase = hop === 'gateway' ? `${GATEWAY_PREFIX}/vllm` : `${ORCHESTRATOR_PREFIX}/services/vllm`;
  const vectorBase =
    hop === 'gateway' ? `${GATEWAY_PREFIX}/vector-db` : `${ORCHESTRATOR_PREFIX}/services/vector-db`;
  const patterns: Pattern[] = [
    {
      kind: 'openai',
      regex: /^\/v1(\/[^?]*)?$/,
      bodyLimit: OPENAI_BODY_LIMIT,
      proxy: (_id, rest) => `/v1${rest}`,
    },
    {
      kind: 'openai',
      regex: new RegExp(`^${escapeRegex(vllmBase)}/${ID}/v1${REST}$`),
      bodyLimit: OPENAI_BODY_LIMIT,
      proxy: (id, rest) => `${ORCHESTRATOR_PREFIX}/services/vllm/${id}/v1${rest}`,
    },
    {
      kind: 'qdrant',
      regex: new RegExp(`^${escapeRegex(vectorBase)}/${ID}/qdrant${REST}$`),
      bodyLimit: VECTOR_BODY_LIMIT,
      proxy: (id, rest) => `${ORCHESTRATOR_PREFIX}/services/vector-db/${id}/qdrant${rest}`,
    },
  ];
  for (const routeId of routeIds()) {
    const route = routeDef(routeId);
    const proxyPath = route.proxy;
    const served = hop === 'gateway' ? route.gateway : route.orchestrator?.path;
    const method = hop === 'gateway' ? route.method : route.orchestrator?.method;
    if (proxyPath === undefined || served === undefined || method === undefined) continue;
    const names: string[] = [];
    const source = patternSource(served, (name) => {
      names.push(name);
      return '([^/?]+)';
    });
    patterns.push({
      kind: routeId === 'vllm.prompt' ? 'prompt' : 'route',
      method,
      regex: new RegExp(`^${source}$`),
      bodyLimit: route.body === 'UpsertPoints' ? VECTOR_BODY_LIMIT : OPENAI_BODY_LIMIT,
      routeId,
      names,
      proxy: () => proxyPath,
    });
  }
  return patterns;
}

const PATTERNS: Readonly<Record<PassThroughHop, Pattern[]>> = {
  gateway: patternsFor('gateway'),
  orchestrator: patternsFor('orchestrator'),
};

/**
 * Whether `method url` on `hop` is streamed to the proxy, and where to. Undefined for everything
 * else (the control plane's own routes). Throws InvalidServiceIdError for a pass-through path whose
 * id cannot name a service.
 */
export function matchPassThrough(hop: PassThroughHop, method: string, url: string): PassThrough | undefined {
  // A hop asks twice about each request, one call right after the other (its RequestGate for the
  // declared body size, then its pass-through): the second is answered from the first.
  const last = lastMatch;
  if (last !== undefined && last.url === url && last.method === method && last.hop === hop) return last.match;
  const match = matchUncached(hop, method, url);
  lastMatch = { hop, method, url, match };
  return match;
}

/**
 * Whether `method url` on `hop` is the data plane: streamed to the proxy, or refused by the pass-through
 * itself for a malformed service id in such a path.
 */
export function isPassThrough(hop: PassThroughHop, method: string, url: string): boolean {
  try {
    return matchPassThrough(hop, method, url) !== undefined;
  } catch (error) {
    if (error instanceof InvalidServiceIdError) return true;
    throw error;
  }
}

let lastMatch:
  { hop: PassThroughHop; method: string; url: string; match: PassThrough | undefined } | undefined;

function matchUncached(hop: PassThroughHop, method: string, url: string): PassThrough | undefined {
  const queryAt = url.indexOf('?');
  const path = queryAt < 0 ? url : url.slice(0, queryAt);
  const query = queryAt < 0 ? '' : url.slice(queryAt);
  for (const pattern of PATTERNS[hop]) {
    if (pattern.method !== undefined && pattern.method !== method) continue;
    const match = pattern.regex.exec(path);
    if (!match) continue;
    if (pattern.routeId !== undefined) {
      const names = pattern.names ?? [];
      const params: Record<string, string> = {};
      names.forEach((name, index) => {
        params[name] = decodeSegment(match[index + 1] ?? '');
      });
      const serviceId = params.id ?? null;
      if (serviceId !== null && !SERVICE_ID_PATTERN.test(serviceId)) throw invalidId(serviceId);
      const proxyPath = pattern
        .proxy('', '')
        .replace(/:([A-Za-z_]+)/g, (_m, name: string) => encodeURIComponent(params[name] ?? ''));
      return {
        kind: pattern.kind,
        proxyPath: routeDef(pattern.routeId).query === undefined ? proxyPath : `${proxyPath}${query}`,
        bodyLimit: pattern.bodyLimit,
        serviceId,
        routeId: pattern.routeId,
      };
    }
    const hasId = pattern.regex.source.includes(ID);
    const id = hasId ? decodeSegment(match[1] ?? '') : null;
    const rest = (hasId ? match[2] : match[1]) ?? '';
    if (id !== null && !SERVICE_ID_PATTERN.test(id)) throw invalidId(id);
    return {
      kind: pattern.kind,
      proxyPath: `${pattern.proxy(id ?? '', rest)}${query}`,
      bodyLimit: pattern.bodyLimit,
      serviceId: id,
    };
  }
  return undefined;
}

function invalidId(id: string): InvalidServiceIdError {
  return new InvalidServiceIdError(
    `"${id.slice(0, 64)}" is not a service id: expected a job id such as 3652098, or a group id such as sg-3652098`,
  );
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
