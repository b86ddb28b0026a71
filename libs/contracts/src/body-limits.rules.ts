/*
 * The one table of request body limits at the HTTP edges (gateway and orchestrator): the data
 * plane's pass-through routes carry their own (`matchPassThrough`), every control-plane route takes
 * at most CONTROL_BODY_LIMIT. A body over its route's limit is 413 before a byte of it is parsed.
 */
import { InvalidServiceIdError, matchPassThrough, type PassThroughHop } from './data-plane';

/** Creates, cancels and every other control-plane body: far above the largest legitimate one. */
export const CONTROL_BODY_LIMIT = 1024 * 1024;

/** Bytes of body `method url` may carry on `hop`. */
export function bodyLimitFor(hop: PassThroughHop, method: string, url: string): number {
  try {
    return matchPassThrough(hop, method, url)?.bodyLimit ?? CONTROL_BODY_LIMIT;
  } catch (error) {
    // The pass-through refuses the id with a 400; its body is never read.
    if (error instanceof InvalidServiceIdError) return CONTROL_BODY_LIMIT;
    throw error;
  }
}

/** The 413 message every hop words the same way. */
export function bodyTooLargeMessage(limit: number): string {
  return `Request body is larger than the ${String(limit)} byte limit of this route`;
}
