import type { z } from 'zod';
import { errorBodySchema, groupStatusSchema, type GroupStatus } from './api.schemas';

/** The gateway's public API, on the origin that served the page. */
export const API = '/api/v1';

/** A refusal or failure, with the message the gateway gave (what a person can act on). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The message of an error answer, whichever of the API's error shapes it has. */
export async function errorMessage(response: Response): Promise<string> {
  const fallback = `${String(response.status)} ${response.statusText || 'error'}`;
  const body = await response.text().catch(() => '');
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    // Not JSON: a proxy's or the gateway's plain-text answer says it in its own words.
    return body.trim() === '' ? fallback : body.trim().slice(0, 500);
  }
  const parsed = errorBodySchema.safeParse(json);
  if (!parsed.success) return fallback;
  const { data } = parsed;
  if ('message' in data) return Array.isArray(data.message) ? data.message.join('; ') : data.message;
  return typeof data.error === 'string' ? data.error : data.error.message;
}

/** Fetches JSON from the API and checks it against `schema`; any failure is an ApiError with a message. */
export async function requestJson<T>(
  path: string,
  schema: z.ZodType<T>,
  init: { method?: string; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${API}${path}`, {
      method: init.method ?? 'GET',
      headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
      body: init.body === undefined ? null : JSON.stringify(init.body),
      signal: init.signal ?? null,
    });
  } catch (error) {
    if (isAbort(error)) throw error;
    throw new ApiError('The gateway did not answer: is it still running?', 0);
  }
  if (!response.ok) throw new ApiError(await errorMessage(response), response.status);
  const parsed = schema.safeParse(await response.json());
  if (!parsed.success) {
    throw new ApiError(`The gateway answered ${path} in an unexpected shape: ${parsed.error.message}`, 0);
  }
  return parsed.data;
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Path segments are ids and recipe paths from the API itself; encoded all the same. */
export function servicePath(id: string, rest = ''): string {
  return `/services/${encodeURIComponent(id)}${rest}`;
}

/** A group's replica health as the prober last saw it; undefined when it cannot be read now. */
export function groupHealth(id: string, signal: AbortSignal): Promise<GroupStatus | undefined> {
  return requestJson(`/service-groups/${encodeURIComponent(id)}/status`, groupStatusSchema, { signal }).catch(
    () => undefined,
  );
}
