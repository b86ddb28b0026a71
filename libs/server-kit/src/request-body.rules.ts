import type { NextFunction, Request, Response } from 'express';
import { BadRequestError, UnsupportedMediaTypeError } from './errors';

/**
 * Largest JSON body any hop accepts. Every hop has the same limit, so a body the gateway takes is
 * not refused by the orchestrator or the proxy behind it; it is Qdrant's default request limit
 * (max_request_size_mb = 32), which an upsert the proxy passes on must also fit.
 */
export const JSON_BODY_LIMIT = '32mb';

/** Deepest nesting of objects and arrays a request body may have; the top-level object is level 1. */
export const MAX_BODY_DEPTH = 32;

/**
 * Longest array a body may hold: the largest legitimate one is a vector of 65 536 dimensions. Checked
 * before validation, which costs microseconds per element: a 32 MB array of three million numbers
 * would otherwise hold the event loop for seconds before being refused anyway.
 */
export const MAX_BODY_ARRAY_LENGTH = 65_536;

/**
 * Keys that class-transformer silently drops (and that would otherwise reach a prototype): a request
 * using them would lose data without a word, so it is refused instead.
 */
export const RESERVED_BODY_KEYS: readonly string[] = ['__proto__', 'constructor'];

interface Frame {
  node: object;
  depth: number;
  parent: Frame | undefined;
  key: string;
}

function pathOf(frame: Frame | undefined): string {
  const keys: string[] = [];
  for (let at = frame; at?.parent !== undefined; at = at.parent) keys.unshift(at.key);
  return keys.length === 0 ? 'the top level' : keys.join('.');
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/**
 * Why a parsed JSON body cannot be validated safely, or undefined. Iterative, so a hostile nesting
 * depth cannot overflow the stack here (it would in class-transformer, which recurses).
 */
export function requestBodyProblem(body: unknown): string | undefined {
  if (body === undefined) return undefined;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return `Request body must be a JSON object, got ${kindOf(body)}`;
  }
  const pending: Frame[] = [{ node: body, depth: 1, parent: undefined, key: '' }];
  for (let frame = pending.pop(); frame !== undefined; frame = pending.pop()) {
    if (frame.depth > MAX_BODY_DEPTH) {
      return `Request body is nested more than ${MAX_BODY_DEPTH} levels deep (at ${pathOf(frame)})`;
    }
    if (Array.isArray(frame.node)) {
      const items = frame.node as unknown[];
      if (items.length > MAX_BODY_ARRAY_LENGTH) {
        return `Request body has an array of ${items.length} items (at ${pathOf(frame)}); at most ${MAX_BODY_ARRAY_LENGTH} are accepted`;
      }
      for (let index = 0; index < items.length; index += 1) {
        const item = items[index];
        if (item !== null && typeof item === 'object') {
          pending.push({ node: item, depth: frame.depth + 1, parent: frame, key: String(index) });
        }
      }
      continue;
    }
    for (const [key, value] of Object.entries(frame.node as Record<string, unknown>)) {
      if (RESERVED_BODY_KEYS.includes(key)) {
        return `Request body uses the key "${key}" (at ${pathOf(frame)}); the keys ${RESERVED_BODY_KEYS.join(' and ')} are not accepted anywhere in a body`;
      }
      if (value !== null && typeof value === 'object') {
        pending.push({ node: value, depth: frame.depth + 1, parent: frame, key });
      }
    }
  }
  return undefined;
}

/**
 * Every body of this API is JSON. Without this, a body of another type is skipped by the JSON
 * parser and the request fails later with field errors that hide the real mistake.
 */
export function jsonContentTypeMiddleware(req: Request, _res: Response, next: NextFunction): void {
  const length = Number(req.headers['content-length'] ?? '0');
  const hasBody = req.headers['transfer-encoding'] !== undefined || length > 0;
  if (hasBody && req.is('application/json') === false) {
    const sent = req.headers['content-type'];
    next(
      new UnsupportedMediaTypeError(
        `Request bodies must be JSON sent with "Content-Type: application/json" (got ${sent === undefined ? 'no Content-Type' : JSON.stringify(sent.slice(0, 100))})`,
      ),
    );
    return;
  }
  next();
}

/**
 * Runs right after the JSON parser. Nest would turn its SyntaxError into a bare 400 that repeats
 * JSON.parse's wording, which calls `null` or `12` "not valid JSON"; say what is actually wrong.
 */
export function jsonParseErrorMiddleware(
  error: unknown,
  _req: Request,
  _res: Response,
  next: NextFunction,
): void {
  const { type, body } = (error ?? {}) as { type?: unknown; body?: unknown };
  if (type !== 'entity.parse.failed' || !(error instanceof Error)) {
    next(error);
    return;
  }
  next(
    new BadRequestError(
      parsesAsJson(body)
        ? `Request body must be a JSON object, got the bare JSON value ${JSON.stringify(String(body).trim().slice(0, 40))}`
        : `Request body is not valid JSON: ${error.message}`,
    ),
  );
}

function parsesAsJson(body: unknown): boolean {
  if (typeof body !== 'string') return false;
  try {
    JSON.parse(body);
    return true;
  } catch {
    return false;
  }
}
