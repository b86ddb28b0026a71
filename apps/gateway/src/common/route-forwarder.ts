import { Injectable, type Type } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiQuery, ApiTags, type ExamplesObject } from '@nestjs/swagger';
import type { Request } from 'express';
import {
  fillPath,
  routeDef,
  type BodyContract,
  type RouteDef,
  type RouteId,
  type RouteTag,
} from '@aiplane/contracts';
import { BODY_DTOS } from '@aiplane/http-api';
import {
  NamePipe,
  routeController,
  ServiceIdPipe,
  type RouteCall,
  type RouteHandler,
} from '@aiplane/server-kit';
import { OrchestratorClient } from '../transport/orchestrator.client';
import { ApiDataPlaneErrors, ApiErrors, ApiNameParam, ApiServiceIdParam } from './api-docs';
import { deprecationHeaders } from './deprecation';
import {
  CANCEL_EXAMPLES,
  CREATE_COLLECTION_EXAMPLES,
  CREATE_SERVICE_EXAMPLES,
  PROMPT_EXAMPLES,
  SEARCH_EXAMPLES,
  UPSERT_POINTS_EXAMPLES,
} from './doc-examples';
import { forwardedOrigin } from './forwarded-origin';
import { withQuery } from './upstream-path';

const BODY_EXAMPLES: Readonly<Record<BodyContract, ExamplesObject>> = {
  CreateService: CREATE_SERVICE_EXAMPLES,
  UpdateStatus: CANCEL_EXAMPLES,
  Prompt: PROMPT_EXAMPLES,
  CreateCollection: CREATE_COLLECTION_EXAMPLES,
  UpsertPoints: UPSERT_POINTS_EXAMPLES,
  SearchPoints: SEARCH_EXAMPLES,
};

/**
 * Headers the gateway adds upstream. Discovery targets must name the gateway, as the client
 * reached it, not the orchestrator behind the tunnel.
 */
const UPSTREAM_HEADERS: Partial<Record<RouteId, (req: Request) => Record<string, string>>> = {
  'services.targets': forwardedOrigin,
};

/**
 * Every control-plane table route of the gateway: the orchestrator path built from the validated
 * parameters. Table routes with a proxy path (prompts, models, metrics, vector-db) never get here at
 * run time: the pass-through createGatewayApp installs in front of Nest streams them to the proxy
 * (routes.served.spec.ts proves it). Their controllers stay, decorators and all, so that the API
 * document keeps describing their bodies and answers; this handler is then never called for them.
 */
@Injectable()
export class RouteForwarder implements RouteHandler {
  constructor(private readonly orchestrator: OrchestratorClient) {}

  async handle({ id, route, params, query, body, req, res }: RouteCall): Promise<void> {
    const upstream = route.orchestrator;
    if (upstream === undefined) throw new Error(`Route ${id} has no orchestrator path to forward to`);
    const headers = UPSTREAM_HEADERS[id]?.(req);
    const successor =
      route.successor === undefined ? undefined : routeDef(route.successor as RouteId).gateway;
    await this.orchestrator.forward(req, res, withQuery(fillPath(upstream.path, params), query), {
      method: upstream.method,
      ...(route.body === undefined ? {} : { body }),
      ...(headers === undefined ? {} : { headers }),
      ...(successor === undefined
        ? {}
        : { responseHeaders: deprecationHeaders(fillPath(successor, params)) }),
    });
  }
}

/** What the table says about a route, as Swagger decorators: operation, parameters, errors. */
function routeDocs(route: RouteDef): MethodDecorator[] {
  const params = Object.entries(route.params ?? {}).map(([name, param]) =>
    param.kind === 'serviceId'
      ? ApiServiceIdParam(name)
      : ApiNameParam(name, param.description ?? name, param.example),
  );
  const query = (route.query ?? []).map(({ name, description, example }) =>
    ApiQuery({ name, required: false, ...(description === undefined ? {} : { description }), example }),
  );
  return [
    ApiOperation({
      summary: route.summary,
      ...(route.description === undefined ? {} : { description: route.description }),
      ...(route.successor === undefined ? {} : { deprecated: true }),
    }),
    ...params,
    ...query,
    ...(route.body === undefined
      ? []
      : [ApiBody({ type: BODY_DTOS[route.body], examples: BODY_EXAMPLES[route.body] })]),
  ];
}

function errorDocs(route: RouteDef): MethodDecorator[] {
  if (route.errors === undefined) return [];
  const { envelope, statuses } = route.errors;
  return [envelope === 'dataPlane' ? ApiDataPlaneErrors(...statuses) : ApiErrors(...statuses)];
}

/**
 * A controller of pass-through routes: for each route id, the Swagger decorators the table cannot
 * hold (response shapes, which are classes), in the order they would be written.
 */
export function gatewayController(
  name: string,
  tag: RouteTag,
  routes: Partial<Record<RouteId, readonly MethodDecorator[]>>,
  classDecorators: readonly ClassDecorator[] = [],
  // What answers these routes; RouteForwarder passes them on to the orchestrator.
  handler: Type<RouteHandler> = RouteForwarder,
): Type {
  const ids = Object.keys(routes) as RouteId[];
  for (const id of ids) {
    if (routeDef(id).tag !== tag) throw new Error(`Route ${id} is not tagged ${tag}`);
  }
  return routeController({
    name,
    routes: ids,
    on: 'gateway',
    handler,
    paramPipes: { serviceId: ServiceIdPipe, name: NamePipe, collection: NamePipe },
    bodies: BODY_DTOS,
    decorate: (id, route) => [...routeDocs(route), ...(routes[id] ?? []), ...errorDocs(route)],
    classDecorators: [ApiTags(tag), ...classDecorators],
  });
}
