import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { storage as pinoHttpStorage } from 'nestjs-pino/storage';

export const REQUEST_ID_HEADER = 'x-request-id';

interface RequestContext {
  requestId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/**
 * On Node 20 an AsyncLocalStorage that was entered once turns on async hooks that every promise,
 * tick and socket of the process pays for from then on (about three times the cost of a bare
 * promise), the data-plane pass-through's included, which never reads a context. So the contexts
 * Nest's routes use (this request id, nestjs-pino's logger, a hop's own) are turned off again
 * (`disable()`; the next `run()` turns them on) once no Nest request is in flight.
 */
const scopedToRequests = new Set<AsyncLocalStorage<unknown>>([storage, pinoHttpStorage]);
let requestsInFlight = 0;

/** Adds a hop's own storage to those turned off while no Nest request is in flight. */
export function scopeStorageToRequests(store: AsyncLocalStorage<unknown>): void {
  scopedToRequests.add(store);
}

/** Nest requests being served now (the async contexts are on while this is above zero). */
export function nestRequestsInFlight(): number {
  return requestsInFlight;
}

/** Counts `res`'s request in flight until it closes; the last one to close turns the contexts off. */
export function holdAsyncContexts(res: ServerResponse): void {
  requestsInFlight += 1;
  res.once('close', () => {
    // After every other 'close' listener (pino-http's log line still reads the request id).
    process.nextTick(releaseAsyncContexts);
  });
}

function releaseAsyncContexts(): void {
  requestsInFlight -= 1;
  if (requestsInFlight > 0) return;
  for (const store of scopedToRequests) store.disable();
}

// A caller-chosen id is kept so a researcher can grep every hop for it, but only if it is
// harmless to log and to echo back in a header.
const ACCEPTABLE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function newRequestId(): string {
  return randomUUID();
}

export function acceptRequestId(candidate: unknown): string {
  return typeof candidate === 'string' && ACCEPTABLE_ID.test(candidate) ? candidate : newRequestId();
}

/** The id of the request being served, if any; outgoing calls forward it. */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

/**
 * For a process without HTTP routes (the worker's queue jobs): nothing turns the context off there.
 * In an HTTP app, the last Nest request to close would turn it off under `fn`'s later steps.
 */
export function runWithRequestId<T>(requestId: string, fn: () => T): T {
  return storage.run({ requestId }, fn);
}

/** First middleware of every HTTP app: one id per request, echoed back, visible to every log line. */
export function requestIdMiddleware(req: Request, res: Response, next: NextFunction): void {
  const requestId = acceptRequestId(req.headers[REQUEST_ID_HEADER]);
  req.headers[REQUEST_ID_HEADER] = requestId;
  (req as Request & { id?: string }).id = requestId;
  res.setHeader(REQUEST_ID_HEADER, requestId);
  holdAsyncContexts(res);
  storage.run({ requestId }, next);
}
