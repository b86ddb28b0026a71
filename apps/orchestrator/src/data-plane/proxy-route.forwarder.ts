import { Inject, Injectable, type Type } from '@nestjs/common';
import type { Request } from 'express';
import { fillPath, type RouteOn } from '@aiplane/contracts';
import { BODY_DTOS } from '@aiplane/http-api';
import {
  CollectionNamePipe,
  NamePipe,
  routeController,
  ServiceIdPipe,
  type HttpForwarder,
  type RouteCall,
  type RouteHandler,
} from '@aiplane/server-kit';
import { PROXY_FORWARDER } from '../platform/platform.module';

/**
 * The orchestrator is the one entry point on the cluster, but it carries no data-plane logic:
 * prompts, vector-db calls and metrics are streamed to and from the proxy, which owns routing and
 * retries. The proxy path is the table's, filled from the validated parameters, so nothing the
 * client wrote into the URL reaches the proxy unchecked.
 */
@Injectable()
export class ProxyRouteForwarder implements RouteHandler {
  constructor(@Inject(PROXY_FORWARDER) private readonly proxy: HttpForwarder) {}

  handle({ id, route, params, req, res }: RouteCall): Promise<void> {
    if (route.proxy === undefined) throw new Error(`Route ${id} has no proxy path to forward to`);
    const query = route.query === undefined ? '' : queryString(req);
    return this.proxy.forward(req, res, `${fillPath(route.proxy, params)}${query}`);
  }
}

function queryString(req: Request): string {
  const at = req.originalUrl.indexOf('?');
  return at < 0 ? '' : req.originalUrl.slice(at);
}

/**
 * A controller for data-plane routes of the table. Bodies are validated here too, because
 * on-cluster clients call this port directly.
 */
export function proxyController(name: string, routes: readonly RouteOn<'proxy'>[]): Type {
  return routeController({
    name,
    routes,
    on: 'orchestrator',
    handler: ProxyRouteForwarder,
    paramPipes: { serviceId: ServiceIdPipe, name: NamePipe, collection: CollectionNamePipe },
    bodies: BODY_DTOS,
  });
}
