// Qdrant point ids are an unsigned 64-bit integer or a UUID, nothing else. UUIDs are read in any form the Rust
// `uuid` crate parses and always written back hyphenated and lower-case.

/** A number (unsigned integer) or a UUID in canonical hyphenated lower-case form. */
export type PointId = number | string;

const UUID_BODY = /^[0-9a-f]{32}$/;

function canonicalUuid(text: string): string | undefined {
  let body = text.toLowerCase();
  if (body.startsWith('urn:uuid:')) body = body.slice('urn:uuid:'.length);
  if (body.startsWith('{') && body.endsWith('}')) body = body.slice(1, -1);
  if (body.length === 36) {
    if (body[8] !== '-' || body[13] !== '-' || body[18] !== '-' || body[23] !== '-') return undefined;
    body = body.replace(/-/g, '');
  }
  if (!UUID_BODY.test(body)) return undefined;
  return `${body.slice(0, 8)}-${body.slice(8, 12)}-${body.slice(12, 16)}-${body.slice(16, 20)}-${body.slice(20)}`;
}

/**
 * A JSON id value as Qdrant accepts it, or undefined. Integers past 2^53 cannot be represented exactly in
 * JavaScript, so they are refused rather than silently rounded onto another point.
 */
export function parsePointId(value: unknown): PointId | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value === 'string') return canonicalUuid(value);
  return undefined;
}

/** An id written in a URL path: Rust's `u64::from_str`, then a UUID. */
export function parsePointIdText(text: string): PointId | undefined {
  if (/^\+?[0-9]+$/.test(text)) {
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return canonicalUuid(text);
}

/** Map key for an id; UUIDs contain hyphens, so they never collide with numbers. */
export function pointIdKey(id: PointId): string {
  return typeof id === 'number' ? String(id) : id;
}

/** Qdrant's order: integers first, ascending, then UUIDs by value (which is their hex text order). */
export function comparePointIds(a: PointId, b: PointId): number {
  if (typeof a === 'number') return typeof b === 'number' ? a - b : -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
