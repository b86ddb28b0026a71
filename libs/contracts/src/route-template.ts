/*
 * The route a request was for, as a bounded label: the table's path pattern (`/api/v1/services/:id`),
 * never the raw path, whose ids, collection names and Qdrant sub-paths would make one series per
 * value. Used by every hop's request metrics, for Nest's routes and the pass-through alike.
 */
import {
  GATEWAY_PREFIX,
  ORCHESTRATOR_PREFIX,
  methodOn,
  pathPattern,
  patternSource,
  routeIds,
  type Hop,
} from './routes';

/** Anything no route of the hop serves (a 404, a probe of a path that does not exist). */
export const UNMATCHED_ROUTE = 'unmatched';

/** The OpenAI paths a workload serves; any other `/v1/...` path is counted as `/v1/*`. */
const OPENAI_PATHS = ['/models', '/chat/completions', '/completions', '/embeddings'];

interface Template {
  method: string | undefined;
  regex: RegExp;
  /** The label; for the open-ended forms, built from what follows the matched prefix. */
  label: (rest: string) => string;
}

/** A segment of any value, not captured: the label is the pattern, whatever the id. */
const anySegment = (): string => '[^/?]+';

function fromPattern(pattern: string): RegExp {
  return new RegExp(`^${patternSource(pattern, anySegment)}$`);
}

/** `/v1...` forms: the known OpenAI endpoints by name, the rest as one. */
function openAi(base: string): Template {
  const pattern = patternSource(base, anySegment);
  return {
    method: undefined,
    regex: new RegExp(`^${pattern}(/[^?]*)?$`),
    label: (rest) => `${base}${OPENAI_PATHS.includes(rest) || rest === '' ? rest : '/*'}`,
  };
}

/** Qdrant's own REST paths are Qdrant's business: one label for all of them. */
function qdrant(base: string): Template {
  return {
    method: undefined,
    regex: new RegExp(`^${patternSource(base, anySegment)}(/[^?]*)?$`),
    label: () => `${base}/*`,
  };
}

function templatesFor(hop: Hop): Template[] {
  const templates: Template[] = [];
  for (const id of routeIds()) {
    const pattern = pathPattern(id, hop);
    if (pattern === undefined) continue;
    templates.push({ method: methodOn(id, hop), regex: fromPattern(pattern), label: () => pattern });
  }
  if (hop === 'gateway') {
    templates.push(
      openAi('/v1'),
      openAi(`${GATEWAY_PREFIX}/vllm/:id/v1`),
      qdrant(`${GATEWAY_PREFIX}/vector-db/:id/qdrant`),
      { method: 'GET', regex: /^\/docs(?:-json|\/.*)?$/, label: () => '/docs' },
    );
  } else {
    templates.push(
      openAi('/v1'),
      openAi(`${ORCHESTRATOR_PREFIX}/services/vllm/:id/v1`),
      qdrant(`${ORCHESTRATOR_PREFIX}/services/vector-db/:id/qdrant`),
    );
  }
  if (hop === 'proxy') templates.push({ method: 'GET', regex: /^\/health$/, label: () => '/health' });
  return templates;
}

const TEMPLATES: Readonly<Record<Hop, Template[]>> = {
  gateway: templatesFor('gateway'),
  orchestrator: templatesFor('orchestrator'),
  proxy: templatesFor('proxy'),
};

/**
 * The route template of `method url` on `hop`, or UNMATCHED_ROUTE. Literal paths are tried before
 * the parameterised ones that would match them, in the table's order (services/targets before
 * services/:id).
 */
export function routeTemplate(hop: Hop, method: string, url: string): string {
  const queryAt = url.indexOf('?');
  const path = queryAt < 0 ? url : url.slice(0, queryAt);
  for (const template of TEMPLATES[hop]) {
    if (template.method !== undefined && template.method !== method) continue;
    const match = template.regex.exec(path);
    if (match) return template.label(match[1] ?? '');
  }
  return UNMATCHED_ROUTE;
}
