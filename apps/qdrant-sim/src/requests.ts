// Request bodies are read the way Qdrant's serde structs read them: unknown fields are ignored, and failures are
// reported with serde's wording ("missing field `limit`", "data did not match any variant of untagged enum ...").
// serde also names the line and column where it gave up; the simulator points at the end of the body instead.

import { ApiError } from './api.errors';
import { DISTANCES, type Distance, type PointInput, type VectorParams } from './collection';
import type { Condition, Filter, MatchValue, Payload, Range } from './filter';
import { parsePointId, pointIdKey, type PointId } from './point-id';

export const JSON_BODY = 'JSON body';

/** A parsed JSON body and where it ends, for error messages. */
export interface JsonBody {
  value: unknown;
  end: string;
}

export type WithPayload = boolean | { include: string[] } | { exclude: string[] };

export interface SearchRequest {
  vector: number[];
  limit: number;
  offset: number;
  filter: Filter | undefined;
  scoreThreshold: number | undefined;
  withPayload: WithPayload;
  withVector: boolean;
}

export interface ScrollRequest {
  limit: number;
  offset: PointId | undefined;
  filter: Filter | undefined;
  withPayload: WithPayload;
  withVector: boolean;
}

export interface RetrieveRequest {
  ids: PointId[];
  withPayload: WithPayload;
  withVector: boolean;
}

export type PointsSelector = { points: PointId[] } | { filter: Filter };

/** "line L column C" just past the last character, as serde reports an error found at the end of the input. */
export function endOf(text: string): string {
  const trimmed = text.trimEnd();
  const lines = trimmed.split('\n');
  return `line ${lines.length} column ${(lines.at(-1) ?? '').length}`;
}

export function parseJsonText(text: string): JsonBody {
  const end = endOf(text);
  try {
    return { value: JSON.parse(text) as unknown, end };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (text.trim() === '' || /end of JSON input/i.test(message)) {
      throw ApiError.format(JSON_BODY, `EOF while parsing a value at ${end}`);
    }
    const position = /position (\d+)/.exec(message);
    const at = position?.[1] === undefined ? end : endOf(text.slice(0, Number(position[1]) + 1));
    throw ApiError.format(JSON_BODY, `expected value at ${at}`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** serde's "invalid type: X, expected Y" description of a JSON value. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'sequence';
  if (typeof value === 'object') return 'map';
  if (typeof value === 'string') return `string ${JSON.stringify(value)}`;
  if (typeof value === 'boolean') return `boolean \`${String(value)}\``;
  if (typeof value === 'number') {
    return Number.isInteger(value) ? `integer \`${String(value)}\`` : `floating point \`${String(value)}\``;
  }
  return typeof value;
}

class Reader {
  constructor(private readonly body: JsonBody) {}

  fail(description: string): never {
    throw ApiError.format(JSON_BODY, `${description} at ${this.body.end}`);
  }

  untagged(name: string): never {
    return this.fail(`data did not match any variant of untagged enum ${name}`);
  }

  object(value: unknown, struct: string): Record<string, unknown> {
    if (!isRecord(value)) this.fail(`invalid type: ${describe(value)}, expected struct ${struct}`);
    return value;
  }

  required(object: Record<string, unknown>, field: string): unknown {
    if (!(field in object)) this.fail(`missing field \`${field}\``);
    return object[field];
  }

  uint(value: unknown, what = 'usize'): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      this.fail(`invalid type: ${describe(value)}, expected ${what}`);
    }
    return value;
  }

  optionalUint(value: unknown): number | undefined {
    return value === undefined || value === null ? undefined : this.uint(value);
  }

  optionalNumber(value: unknown): number | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number') this.fail(`invalid type: ${describe(value)}, expected f32`);
    return value;
  }

  bool(value: unknown, fallback: boolean): boolean {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'boolean') this.fail(`invalid type: ${describe(value)}, expected a boolean`);
    return value;
  }

  floats(value: unknown): number[] | undefined {
    if (!Array.isArray(value)) return undefined;
    return value.every((x) => typeof x === 'number') ? value : undefined;
  }
}

// ---- collections -----------------------------------------------------------------------------------------------

const MAX_VECTOR_SIZE = 65_536;

export function parseCreateCollection(body: JsonBody): VectorParams {
  const r: Reader = new Reader(body);
  const request = r.object(body.value, 'CreateCollection');
  const vectors = request.vectors;
  if (vectors === undefined || vectors === null) {
    throw ApiError.badInput(
      'qdrant-sim serves collections with one unnamed dense vector: give `vectors: {size, distance}`',
    );
  }
  if (!isRecord(vectors)) r.untagged('VectorsConfig');
  if (!('size' in vectors) && !('distance' in vectors)) {
    throw ApiError.badInput(
      'qdrant-sim serves collections with one unnamed dense vector; named vectors are not supported',
    );
  }
  const size = r.uint(r.required(vectors, 'size'), 'u64');
  const distance = r.required(vectors, 'distance');
  if (typeof distance !== 'string' || !DISTANCES.includes(distance as Distance)) {
    r.fail(
      typeof distance === 'string'
        ? `unknown variant \`${distance}\`, expected one of ${DISTANCES.map((d) => `\`${d}\``).join(', ')}`
        : `invalid type: ${describe(distance)}, expected enum Distance`,
    );
  }
  if (size < 1 || size > MAX_VECTOR_SIZE) {
    throw ApiError.validation(JSON_BODY, [
      `vectors.size: value ${size} invalid, must be from 1 to ${MAX_VECTOR_SIZE}`,
    ]);
  }
  return { size, distance: distance as Distance };
}

// ---- points ----------------------------------------------------------------------------------------------------

function parsePayload(value: unknown): Payload | undefined {
  if (value === undefined || value === null) return {};
  return isRecord(value) ? value : undefined;
}

/** `{points: [...]}` or `{batch: {ids, vectors, payloads}}`, Qdrant's untagged PointInsertOperations. */
export function parseUpsert(body: JsonBody): PointInput[] {
  const r: Reader = new Reader(body);
  const request = body.value;
  const mismatch = (): never => r.untagged('PointInsertOperations');
  if (!isRecord(request)) return mismatch();

  if (Array.isArray(request.points)) {
    return request.points.map((raw) => {
      if (!isRecord(raw)) return mismatch();
      const id = parsePointId(raw.id);
      const vector = r.floats(raw.vector);
      const payload = parsePayload(raw.payload);
      if (id === undefined || vector === undefined || payload === undefined) return mismatch();
      return { id, vector, payload };
    });
  }

  const batch = request.batch;
  if (isRecord(batch) && Array.isArray(batch.ids) && Array.isArray(batch.vectors)) {
    const ids = batch.ids.map((raw) => parsePointId(raw) ?? mismatch());
    const vectors = batch.vectors.map((raw) => r.floats(raw) ?? mismatch());
    const payloads = batch.payloads === undefined || batch.payloads === null ? [] : batch.payloads;
    if (!Array.isArray(payloads)) return mismatch();
    if (vectors.length !== ids.length || (payloads.length > 0 && payloads.length !== ids.length)) {
      throw ApiError.badInput('number of ids and vectors must be equal');
    }
    return ids.map((id, i) => ({
      id,
      vector: vectors[i] as number[],
      payload: parsePayload(payloads[i]) ?? mismatch(),
    }));
  }
  return mismatch();
}

export function parsePointsSelector(body: JsonBody): PointsSelector {
  const r: Reader = new Reader(body);
  const request = body.value;
  if (isRecord(request) && Array.isArray(request.points)) {
    return { points: request.points.map((raw) => parsePointId(raw) ?? r.untagged('PointsSelector')) };
  }
  if (isRecord(request) && isRecord(request.filter)) return { filter: parseFilter(r, request.filter) };
  return r.untagged('PointsSelector');
}

function parseWithPayload(r: Reader, value: unknown, fallback: boolean): WithPayload {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'boolean') return value;
  const strings = (v: unknown): string[] | undefined => {
    if (typeof v === 'string') return [v];
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;
  };
  const list = strings(value);
  if (list !== undefined) return { include: list };
  if (isRecord(value)) {
    const include = strings(value.include);
    if (include !== undefined) return { include };
    const exclude = strings(value.exclude);
    if (exclude !== undefined) return { exclude };
  }
  return r.untagged('WithPayloadInterface');
}

function parseWithVector(r: Reader, request: Record<string, unknown>): boolean {
  const value = request.with_vector ?? request.with_vectors;
  // A list of vector names selects named vectors; the only vector here is the unnamed one, "".
  if (Array.isArray(value) && value.every((x) => typeof x === 'string')) return value.includes('');
  return r.bool(value, false);
}

export function parseSearch(body: JsonBody): SearchRequest {
  const r: Reader = new Reader(body);
  const request = r.object(body.value, 'SearchRequest');
  const raw = r.required(request, 'vector');
  let vector = r.floats(raw);
  if (vector === undefined && isRecord(raw) && typeof raw.name === 'string') {
    vector = r.floats(raw.vector);
    if (vector !== undefined && raw.name !== '') {
      throw ApiError.badInput(`Not existing vector name error: ${raw.name}`);
    }
  }
  if (vector === undefined) return r.untagged('NamedVectorStruct');
  const limit = r.uint(r.required(request, 'limit'));
  if (limit < 1) throw ApiError.validation(JSON_BODY, [`limit: value ${limit} invalid, must be 1 or larger`]);
  return {
    vector,
    limit,
    offset: r.optionalUint(request.offset) ?? 0,
    filter:
      request.filter === undefined || request.filter === null ? undefined : parseFilter(r, request.filter),
    scoreThreshold: r.optionalNumber(request.score_threshold),
    withPayload: parseWithPayload(r, request.with_payload, false),
    withVector: parseWithVector(r, request),
  };
}

export function parseCount(body: JsonBody): Filter | undefined {
  const r: Reader = new Reader(body);
  const request = r.object(body.value, 'CountRequest');
  r.bool(request.exact, true);
  return request.filter === undefined || request.filter === null ? undefined : parseFilter(r, request.filter);
}

export function parseScroll(body: JsonBody): ScrollRequest {
  const r: Reader = new Reader(body);
  const request = r.object(body.value, 'ScrollRequest');
  const limit = r.optionalUint(request.limit) ?? 10;
  if (limit < 1) throw ApiError.validation(JSON_BODY, [`limit: value ${limit} invalid, must be 1 or larger`]);
  const offset =
    request.offset === undefined || request.offset === null
      ? undefined
      : (parsePointId(request.offset) ?? r.untagged('ExtendedPointId'));
  return {
    limit,
    offset,
    filter:
      request.filter === undefined || request.filter === null ? undefined : parseFilter(r, request.filter),
    withPayload: parseWithPayload(r, request.with_payload, true),
    withVector: parseWithVector(r, request),
  };
}

export function parseRetrieve(body: JsonBody): RetrieveRequest {
  const r: Reader = new Reader(body);
  const request = r.object(body.value, 'PointRequest');
  const ids = r.required(request, 'ids');
  if (!Array.isArray(ids)) r.fail(`invalid type: ${describe(ids)}, expected a sequence`);
  return {
    ids: ids.map((raw) => parsePointId(raw) ?? r.untagged('ExtendedPointId')),
    withPayload: parseWithPayload(r, request.with_payload, true),
    withVector: parseWithVector(r, request),
  };
}

// ---- filters ---------------------------------------------------------------------------------------------------

function asList(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

function parseFilter(r: Reader, value: unknown): Filter {
  const filter = r.object(value, 'Filter');
  return {
    must: asList(filter.must).map((c) => parseCondition(r, c)),
    should: asList(filter.should).map((c) => parseCondition(r, c)),
    mustNot: asList(filter.must_not).map((c) => parseCondition(r, c)),
  };
}

function matchValue(value: unknown): value is MatchValue {
  return (
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isInteger(value))
  );
}

function unsupported(what: string): never {
  throw ApiError.badInput(`qdrant-sim does not evaluate ${what} conditions`);
}

function parseCondition(r: Reader, value: unknown): Condition {
  if (!isRecord(value)) return r.untagged('Condition');
  if ('must' in value || 'should' in value || 'must_not' in value) {
    return { kind: 'nested_filter', filter: parseFilter(r, value) };
  }
  if ('has_id' in value) {
    const ids = asList(value.has_id).map((raw) => parsePointId(raw) ?? r.untagged('Condition'));
    return { kind: 'has_id', ids: new Set(ids.map(pointIdKey)) };
  }
  if ('is_empty' in value || 'is_null' in value) {
    const inner = value.is_empty ?? value.is_null;
    if (!isRecord(inner) || typeof inner.key !== 'string') return r.untagged('Condition');
    return { kind: 'is_empty' in value ? 'is_empty' : 'is_null', key: inner.key };
  }
  if ('nested' in value) unsupported('`nested`');
  if (typeof value.key !== 'string') return r.untagged('Condition');
  const key = value.key;
  const match = value.match;
  if (isRecord(match)) {
    if ('value' in match && matchValue(match.value)) return { kind: 'match', key, value: match.value };
    if (Array.isArray(match.any) && match.any.every(matchValue))
      return { kind: 'match_any', key, any: match.any };
    if (Array.isArray(match.except) && match.except.every(matchValue)) {
      return { kind: 'match_except', key, except: match.except };
    }
    if ('text' in match) unsupported('full-text `match.text`');
    return r.untagged('Condition');
  }
  const range = value.range;
  if (isRecord(range)) {
    const bound = (v: unknown): number | undefined => r.optionalNumber(v);
    const parsed: Range = {
      gt: bound(range.gt),
      gte: bound(range.gte),
      lt: bound(range.lt),
      lte: bound(range.lte),
    };
    return { kind: 'range', key, range: parsed };
  }
  for (const other of ['geo_bounding_box', 'geo_radius', 'geo_polygon', 'values_count']) {
    if (other in value) unsupported(`\`${other}\``);
  }
  return r.untagged('Condition');
}

// ---- query -----------------------------------------------------------------------------------------------------

/** What the Query API is asked to rank by: a vector, a stored point's vector, or nothing (id order). */
export type QueryTarget = { vector: number[] } | { point: PointId } | undefined;

export interface QueryRequest {
  target: QueryTarget;
  limit: number;
  offset: number;
  filter: Filter | undefined;
  scoreThreshold: number | undefined;
  withPayload: WithPayload;
  withVector: boolean;
}

/** A dense vector or a point id: the VectorInput variants a single unnamed dense vector can take. */
function parseVectorInput(r: Reader, value: unknown): QueryTarget {
  const vector = r.floats(value);
  if (vector !== undefined) return { vector };
  const point = parsePointId(value);
  if (point !== undefined) return { point };
  if (isRecord(value) && ('indices' in value || 'text' in value || 'image' in value || 'object' in value)) {
    unsupportedQuery('sparse vectors and inference inputs');
  }
  if (Array.isArray(value)) unsupportedQuery('multi-vectors');
  return r.untagged('QueryInterface');
}

function unsupportedQuery(what: string): never {
  throw ApiError.badInput(`qdrant-sim does not serve ${what} in the Query API`);
}

export function parseQuery(body: JsonBody): QueryRequest {
  const r: Reader = new Reader(body);
  const request = r.object(body.value, 'QueryRequest');
  const prefetch = request.prefetch;
  if (prefetch !== undefined && prefetch !== null && !(Array.isArray(prefetch) && prefetch.length === 0)) {
    unsupportedQuery('`prefetch`');
  }
  if (typeof request.using === 'string' && request.using !== '') {
    throw ApiError.badInput(`Not existing vector name error: ${request.using}`);
  }
  const query = request.query;
  let target: QueryTarget;
  if (query === undefined || query === null) target = undefined;
  else if (isRecord(query) && 'nearest' in query) {
    if (query.mmr !== undefined && query.mmr !== null) unsupportedQuery('`mmr`');
    target = parseVectorInput(r, query.nearest);
  } else if (isRecord(query) && Object.keys(query).length === 1 && !('indices' in query)) {
    unsupportedQuery(`\`${Object.keys(query)[0] ?? ''}\` queries`);
  } else target = parseVectorInput(r, query);
  const limit = r.optionalUint(request.limit) ?? 10;
  if (limit < 1) throw ApiError.validation(JSON_BODY, [`limit: value ${limit} invalid, must be 1 or larger`]);
  return {
    target,
    limit,
    offset: r.optionalUint(request.offset) ?? 0,
    filter:
      request.filter === undefined || request.filter === null ? undefined : parseFilter(r, request.filter),
    scoreThreshold: r.optionalNumber(request.score_threshold),
    withPayload: parseWithPayload(r, request.with_payload, false),
    withVector: parseWithVector(r, request),
  };
}
