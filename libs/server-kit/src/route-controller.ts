import {
  Body,
  Controller,
  HttpCode,
  Inject,
  Param,
  Query,
  Req,
  RequestMapping,
  RequestMethod,
  Res,
  type DynamicModule,
  type InjectionToken,
  type PipeTransform,
  type Type,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import {
  methodOn,
  routeDef,
  servedPath,
  type BodyContract,
  type Hop,
  type RouteDef,
  type RouteId,
  type RouteOn,
  type RouteParamKind,
  type RouteQueryParam,
} from '@aiplane/contracts';
import { NAME_PATTERN, OptionalBoolPipe, OptionalIntPipe, OptionalTextPipe } from './params.pipe';

/** One request to a table route, its path parameters, query and body already validated. */
export interface RouteCall {
  id: RouteId;
  route: RouteDef;
  params: Readonly<Record<string, string>>;
  /** Only the route's declared query parameters; absent ones are undefined. */
  query: Readonly<Record<string, string | number | boolean | undefined>>;
  /** The validated DTO; undefined for routes without a body. */
  body: unknown;
  req: Request;
  res: Response;
}

/** What a generated controller hands every request to; it answers through `res`. */
export interface RouteHandler {
  handle(call: RouteCall): Promise<void>;
}

export interface RouteControllerOptions {
  /** Class name; Swagger's operation ids are built from it and each route's operation name. */
  name: string;
  /** In registration order: a literal path before a parameterised one that would match it. */
  routes: readonly RouteId[];
  /** The hop this app is: which of each route's paths and methods it serves. */
  on: Hop;
  handler: InjectionToken;
  /** How this app checks each kind of path parameter. */
  paramPipes: Readonly<Record<RouteParamKind, Type<PipeTransform>>>;
  /** The DTO that validates each body contract. */
  bodies: Readonly<Record<BodyContract, new () => object>>;
  /** More method decorators for a route (its Swagger documentation), listed as they would be written. */
  decorate?: (id: RouteId, route: RouteDef) => readonly MethodDecorator[];
  classDecorators?: readonly ClassDecorator[];
}

/** `'services.create'` → `'create'`: the handler's method name. */
export function operationOf(id: RouteId): string {
  return id.slice(id.indexOf('.') + 1);
}

export function queryPipe(param: RouteQueryParam): PipeTransform {
  switch (param.type) {
    case 'int':
      return new OptionalIntPipe(param.min ?? 0, param.max ?? Number.MAX_SAFE_INTEGER);
    case 'bool':
      return new OptionalBoolPipe();
    case 'text':
      return new OptionalTextPipe(
        param.maxLength ?? 1024,
        param.pattern === 'name' ? NAME_PATTERN : undefined,
      );
  }
}

/**
 * A Nest controller class for some routes of the table: for each, a method with the route's
 * path, method and status, its path parameters and query checked by pipes, its body validated
 * against the contract's DTO (so the global ValidationPipe and exception filter see exactly what a
 * hand-written `@Param`/`@Query`/`@Body` handler gives them), then `handler.handle(call)`.
 */
export function routeController(options: RouteControllerOptions): Type {
  const controller = class {
    constructor(readonly handler: RouteHandler) {}
  };
  Object.defineProperty(controller, 'name', { value: options.name });
  Inject(options.handler)(controller, undefined, 0);
  const prototype = controller.prototype as unknown as Record<string, unknown>;
  for (const id of options.routes) defineHandler(prototype, id, options);
  for (const decorator of [Controller(), ...(options.classDecorators ?? [])].reverse()) decorator(controller);
  return controller;
}

function defineHandler(
  prototype: Record<string, unknown>,
  id: RouteId,
  options: RouteControllerOptions,
): void {
  const route = routeDef(id);
  const operation = operationOf(id);
  const params = Object.entries(route.params ?? {});
  const query = route.query ?? [];
  const bodyAt = route.body === undefined ? undefined : params.length + query.length;
  const reqAt = params.length + query.length + (bodyAt === undefined ? 0 : 1);

  const handler = async function (this: { handler: RouteHandler }, ...args: unknown[]): Promise<void> {
    await this.handler.handle({
      id,
      route,
      params: Object.fromEntries(params.map(([name], index) => [name, args[index] as string])),
      query: Object.fromEntries(
        query.map((param, index) => [param.name, args[params.length + index] as string | number | undefined]),
      ),
      body: bodyAt === undefined ? undefined : args[bodyAt],
      req: args[reqAt] as Request,
      res: args[reqAt + 1] as Response,
    });
  };
  Object.defineProperty(handler, 'name', { value: operation });
  prototype[operation] = handler;

  // Last to first, as the compiler applies parameter decorators: Swagger lists parameters in that order.
  const argumentDecorators: ParameterDecorator[] = [
    ...params.map(([name, param]) => Param(name, options.paramPipes[param.kind])),
    ...query.map((param) => Query(param.name, queryPipe(param))),
    ...(bodyAt === undefined ? [] : [Body()]),
    Req(),
    Res(),
  ];
  for (let index = argumentDecorators.length - 1; index >= 0; index -= 1) {
    argumentDecorators[index]?.(prototype, operation, index);
  }
  // What the compiler would record for `(id: string, ..., body: Dto, req: Request, res: Response)`:
  // the global ValidationPipe reads the body's class from here.
  const types: unknown[] = [
    ...params.map(() => String),
    ...query.map(() => Object),
    ...(route.body === undefined ? [] : [options.bodies[route.body]]),
    Object,
    Object,
  ];
  Reflect.defineMetadata('design:paramtypes', types, prototype, operation);

  const decorators: MethodDecorator[] = [
    RequestMapping({
      path: servedPath(id as RouteOn<Hop>, options.on),
      method: RequestMethod[methodOn(id, options.on)],
    }),
    HttpCode(route.status),
    ...(options.decorate?.(id, route) ?? []),
  ];
  // Applied last to first, as the compiler applies decorators written above a method.
  for (const decorator of decorators.reverse()) {
    const descriptor = Object.getOwnPropertyDescriptor(prototype, operation);
    const result = decorator(prototype, operation, descriptor as PropertyDescriptor);
    if (result) Object.defineProperty(prototype, operation, result);
  }
}

export interface RegisteredRoute {
  method: string;
  path: string;
  /** `<controller class>.<method>` that serves it. */
  handler: string;
}

interface ModuleLike {
  module?: unknown;
  imports?: unknown[];
  controllers?: Type[];
}

/**
 * Every route a module tree registers, in the order Nest registers them (a module's own
 * controllers, then its imports, depth first), read from the route decorators' metadata without
 * starting anything: what a router will match, for checking it against the route table.
 */
export function routesOf(root: Type | DynamicModule, prefix: string): RegisteredRoute[] {
  const seen = new Set<unknown>();
  const routes: RegisteredRoute[] = [];
  const visit = (entry: unknown): void => {
    if (entry === undefined || entry === null || seen.has(entry)) return;
    seen.add(entry);
    const dynamic = typeof entry === 'function' ? undefined : (entry as ModuleLike);
    const moduleClass = (dynamic ? dynamic.module : entry) as object;
    const controllers = [
      ...((Reflect.getMetadata('controllers', moduleClass) as Type[] | undefined) ?? []),
      ...(dynamic?.controllers ?? []),
    ];
    for (const controller of controllers) routes.push(...controllerRoutes(controller, prefix));
    const imports = [
      ...((Reflect.getMetadata('imports', moduleClass) as unknown[] | undefined) ?? []),
      ...(dynamic?.imports ?? []),
    ];
    for (const imported of imports) visit(imported);
  };
  visit(root);
  return routes;
}

function controllerRoutes(controller: Type, prefix: string): RegisteredRoute[] {
  const base = (Reflect.getMetadata('path', controller) as string | undefined) ?? '';
  const prototype = controller.prototype as Record<string, unknown>;
  return Object.getOwnPropertyNames(prototype).flatMap((key) => {
    const handler = prototype[key];
    if (key === 'constructor' || typeof handler !== 'function') return [];
    const path = Reflect.getMetadata('path', handler) as string | undefined;
    const method = Reflect.getMetadata('method', handler) as RequestMethod | undefined;
    if (path === undefined || method === undefined) return [];
    const joined = `/${[prefix, base, path].join('/')}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
    return [{ method: RequestMethod[method], path: joined, handler: `${controller.name}.${key}` }];
  });
}
