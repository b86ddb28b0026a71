import { createHash } from 'node:crypto';
import { RESERVED_PAYLOAD_KEY } from '@aiplane/contracts';

// Qdrant accepts only unsigned integers and UUIDs as point ids; users of the document also send strings such as
// "doc-1". Those are stored under a name-based UUID (RFC 9562 version 5) and the original kept in the payload, so
// the same string always reaches the same point and comes back exactly as it was sent.

export type UserPointId = number | string;
export type QdrantPointId = number | string;

/** Fixed for all time: changing it would orphan every point already stored under a mapped id. */
export const POINT_ID_NAMESPACE = '3f1d5c52-7a5e-4d0b-9a4e-5c0f6b1e2d7a';

const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const namespaceBytes = Buffer.from(POINT_ID_NAMESPACE.replace(/-/g, ''), 'hex');

/** True for a UUID exactly as Qdrant writes it back: hyphenated, lower case. */
export function isCanonicalUuid(value: string): boolean {
  return CANONICAL_UUID.test(value);
}

/** Name-based UUID: SHA-1 over namespace and name, with the version and variant bits set. */
export function uuidV5(name: string, namespace: Buffer = namespaceBytes): string {
  const hash = createHash('sha1').update(namespace).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The id Qdrant stores for a user's id. Unsigned integers and canonical UUIDs are Qdrant's own and pass
 * unchanged; any other string (upper-case UUIDs included, since Qdrant would rewrite them) is mapped.
 */
export function toQdrantId(id: UserPointId): QdrantPointId {
  if (typeof id === 'number' || isCanonicalUuid(id)) return id;
  return uuidV5(id);
}

/** True when the id has to be remembered in the payload to be given back. */
export function isMapped(id: UserPointId): id is string {
  return toQdrantId(id) !== id;
}

/** The payload stored with a point: the user's, plus the original id when it was mapped. */
export function toQdrantPayload(
  id: UserPointId,
  payload: Readonly<Record<string, unknown>> | undefined,
): Record<string, unknown> {
  // The DTO refuses the reserved key; it is dropped here too so no caller can plant a forged original.
  const { [RESERVED_PAYLOAD_KEY]: _ignored, ...stored } = payload ?? {};
  return isMapped(id) ? { ...stored, [RESERVED_PAYLOAD_KEY]: id } : stored;
}

export interface RestoredPoint {
  id: UserPointId;
  payload: Record<string, unknown> | null;
}

/**
 * The point as the user stored it: the original id back, the reserved key gone. An original is only believed
 * when it maps to the id Qdrant returned, so a payload written around the data plane cannot forge another id.
 */
export function fromQdrantPoint(id: QdrantPointId, payload: unknown): RestoredPoint {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    return { id, payload: null };
  }
  const { [RESERVED_PAYLOAD_KEY]: original, ...rest } = payload as Record<string, unknown>;
  const restored = typeof original === 'string' && toQdrantId(original) === id ? original : id;
  return { id: restored, payload: rest };
}
