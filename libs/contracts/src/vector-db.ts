/*
 * The data plane's vector-db limits and names, framework-free: the proxy, the Qdrant simulator and
 * the request DTOs (libs/http-api) all hold to the same values.
 */

export const DISTANCES = ['Cosine', 'Dot', 'Euclid', 'Manhattan'] as const;
export type Distance = (typeof DISTANCES)[number];
export const DEFAULT_DISTANCE: Distance = 'Cosine';
export const MAX_VECTOR_SIZE = 65_536;
export const MAX_POINTS_PER_UPSERT = 10_000;
export const MAX_STRING_ID_LENGTH = 1_024;
export const DEFAULT_SEARCH_LIMIT = 10;
export const MAX_SEARCH_LIMIT = 1_000;
/**
 * Largest magnitude of a vector component. Qdrant computes in 32-bit floats: with components this
 * small no distance over MAX_VECTOR_SIZE dimensions overflows (beyond it a score becomes infinite
 * and Qdrant answers `null`, which no client can use).
 */
export const MAX_VECTOR_COMPONENT = 1e15;

/**
 * Where the data plane keeps a point's original string id inside Qdrant's payload. Users may not
 * write it themselves: a value of theirs would be taken for an id on the way out.
 */
export const RESERVED_PAYLOAD_KEY = '_aiplane_id';

/** Collection names the data plane accepts; Qdrant allows more, but these survive every URL and file name. */
export const COLLECTION_NAME_PATTERN = /^[A-Za-z0-9_-]{1,255}$/;

/** Why `name` cannot be a collection name, or undefined when it can. */
export function collectionNameProblem(name: unknown): string | undefined {
  if (typeof name === 'string' && COLLECTION_NAME_PATTERN.test(name)) return undefined;
  const shown = typeof name === 'string' ? JSON.stringify(name.slice(0, 64)) : typeof name;
  return `collection name must be 1-255 characters of letters, digits, "_" or "-" (got ${shown})`;
}

export interface CreateCollectionRequest {
  vector_size: number;
  distance?: Distance;
}

export interface VectorPoint {
  /** Unsigned integer or any non-empty string, returned as given. */
  id: number | string;
  vector: number[];
  payload?: Record<string, unknown>;
}

export interface UpsertPointsRequest {
  points: VectorPoint[];
}

export interface SearchPointsRequest {
  query_vector: number[];
  limit?: number;
  with_payload?: boolean;
  /** Qdrant's filter, passed through unchanged. */
  filter?: Record<string, unknown>;
}

export interface CollectionsResponse {
  success: boolean;
  collections: string[];
  service_id: string;
}

export interface CollectionInfoResponse {
  success: boolean;
  /** Qdrant's collection info, unchanged. */
  collection_info: Record<string, unknown>;
}

/** Acknowledgement of a vector-db write. */
export interface VectorDbAck {
  success: boolean;
  message?: string;
}

export interface SearchHit {
  id: number | string;
  score: number;
  payload: Record<string, unknown> | null;
}

export interface SearchResults {
  success: boolean;
  results: SearchHit[];
  /** Same list as `results`. */
  result: SearchHit[];
  num_results: number;
}
