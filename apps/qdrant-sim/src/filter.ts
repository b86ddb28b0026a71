import { pointIdKey, type PointId } from './point-id';

export type Payload = Record<string, unknown>;

export type MatchValue = string | number | boolean;

export interface Range {
  gt?: number | undefined;
  gte?: number | undefined;
  lt?: number | undefined;
  lte?: number | undefined;
}

/** The subset of Qdrant's filter conditions the simulator evaluates. */
export type Condition =
  | { kind: 'match'; key: string; value: MatchValue }
  | { kind: 'match_any'; key: string; any: MatchValue[] }
  | { kind: 'match_except'; key: string; except: MatchValue[] }
  | { kind: 'range'; key: string; range: Range }
  | { kind: 'is_empty'; key: string }
  | { kind: 'is_null'; key: string }
  | { kind: 'has_id'; ids: Set<string> }
  | { kind: 'nested_filter'; filter: Filter };

export interface Filter {
  must: Condition[];
  should: Condition[];
  mustNot: Condition[];
}

interface PointView {
  id: PointId;
  payload: Payload;
}

/**
 * Values at a payload path such as `city`, `address.city` or `tags[]`. Arrays met on the way are flattened, so a
 * condition on `a.b` sees `b` of every object in an array `a`, as in Qdrant.
 */
export function valuesAt(payload: Payload, key: string): unknown[] {
  if (!key.includes('.') && !key.endsWith('[]')) {
    // The common case, a top-level key, without the allocations of the general walk below.
    if (!Object.hasOwn(payload, key)) return [];
    const value = payload[key];
    return Array.isArray(value) ? (value as unknown[]) : [value];
  }
  let current: unknown[] = [payload];
  for (const rawPart of key.split('.')) {
    const part = rawPart.endsWith('[]') ? rawPart.slice(0, -2) : rawPart;
    const next: unknown[] = [];
    for (const value of current) {
      const objects: unknown[] = Array.isArray(value) ? (value as unknown[]) : [value];
      for (const object of objects) {
        if (
          typeof object === 'object' &&
          object !== null &&
          !Array.isArray(object) &&
          Object.hasOwn(object, part)
        ) {
          next.push((object as Record<string, unknown>)[part]);
        }
      }
    }
    current = next;
  }
  return current.flatMap((value) => (Array.isArray(value) ? (value as unknown[]) : [value]));
}

function matchesValue(stored: unknown, wanted: MatchValue): boolean {
  // Keyword, integer and bool matches only ever compare like with like; a float payload never matches an integer.
  if (typeof wanted === 'number')
    return typeof stored === 'number' && Number.isInteger(stored) && stored === wanted;
  return stored === wanted;
}

function inRange(value: unknown, range: Range): boolean {
  if (typeof value !== 'number') return false;
  if (range.gt !== undefined && !(value > range.gt)) return false;
  if (range.gte !== undefined && !(value >= range.gte)) return false;
  if (range.lt !== undefined && !(value < range.lt)) return false;
  if (range.lte !== undefined && !(value <= range.lte)) return false;
  return true;
}

function checkCondition(condition: Condition, point: PointView): boolean {
  switch (condition.kind) {
    case 'has_id':
      return condition.ids.has(pointIdKey(point.id));
    case 'nested_filter':
      return matchesFilter(condition.filter, point);
    case 'is_empty':
      return valuesAt(point.payload, condition.key).every((v) => v === null);
    case 'is_null': {
      const raw = rawValuesAt(point.payload, condition.key);
      return raw.some((v) => v === null);
    }
    case 'match':
      return valuesAt(point.payload, condition.key).some((v) => matchesValue(v, condition.value));
    case 'match_any':
      return valuesAt(point.payload, condition.key).some((v) =>
        condition.any.some((w) => matchesValue(v, w)),
      );
    case 'match_except': {
      const values = valuesAt(point.payload, condition.key);
      // Qdrant: a missing field does not satisfy `except`, only values outside the list do.
      return values.some((v) => v !== null && !condition.except.some((w) => matchesValue(v, w)));
    }
    case 'range':
      return valuesAt(point.payload, condition.key).some((v) => inRange(v, condition.range));
  }
}

/** Values at a path without flattening the last array, so `is_null` can tell `null` from `[null]`. */
function rawValuesAt(payload: Payload, key: string): unknown[] {
  const parts = key.split('.');
  const last = parts.pop() ?? '';
  const parents = parts.length === 0 ? [payload] : valuesAt(payload, parts.join('.'));
  const out: unknown[] = [];
  for (const parent of parents) {
    if (
      typeof parent === 'object' &&
      parent !== null &&
      !Array.isArray(parent) &&
      Object.hasOwn(parent, last)
    ) {
      out.push((parent as Record<string, unknown>)[last]);
    }
  }
  return out;
}

export function matchesFilter(filter: Filter, point: PointView): boolean {
  if (!filter.must.every((c) => checkCondition(c, point))) return false;
  if (filter.should.length > 0 && !filter.should.some((c) => checkCondition(c, point))) return false;
  return !filter.mustNot.some((c) => checkCondition(c, point));
}
