import { endianness } from 'node:os';

import { ApiError } from './api.errors';
import { matchesFilter, type Filter, type Payload } from './filter';
import { comparePointIds, pointIdKey, type PointId } from './point-id';

export type Distance = 'Cosine' | 'Dot' | 'Euclid' | 'Manhattan';

export const DISTANCES: readonly Distance[] = ['Cosine', 'Euclid', 'Dot', 'Manhattan'];

export interface VectorParams {
  size: number;
  distance: Distance;
}

export interface PointInput {
  id: PointId;
  vector: readonly number[];
  payload: Payload;
}

export interface StoredPoint {
  id: PointId;
  version: number;
  payload: Payload;
  /** As stored: float32, and unit length for Cosine collections. */
  vector: Float32Array;
}

export interface ScoredPoint extends StoredPoint {
  score: number;
}

export interface SearchOptions {
  limit: number;
  offset: number;
  filter?: Filter | undefined;
  scoreThreshold?: number | undefined;
}

export interface ScrollOptions {
  limit: number;
  /** First id to return (inclusive), as Qdrant's scroll `offset`. */
  from?: PointId | undefined;
  filter?: Filter | undefined;
}

/** What a collection file holds; vectors are one float32 little-endian block in base64, a small fast encoding. */
export interface CollectionSnapshot {
  format: 'qdrant-sim/collection@1';
  name: string;
  vectors: VectorParams;
  nextOperationId: number;
  ids: PointId[];
  versions: number[];
  payloads: Payload[];
  vectorData: string;
}

// Qdrant leaves vectors shorter than f32::EPSILON unnormalised instead of dividing by ~0.
const F32_EPSILON = 1.1920929e-7;

/** Smallest decimal that reads back as the same float32, which is what Qdrant (serde + ryu) prints. */
export function shortestFloat32(value: number): number {
  const f = Math.fround(value);
  if (!Number.isFinite(f) || f === 0) return f;
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(f.toPrecision(digits));
    if (Math.fround(candidate) === f) return candidate;
  }
  return Number(f.toPrecision(9));
}

export function largerIsBetter(distance: Distance): boolean {
  return distance === 'Cosine' || distance === 'Dot';
}

/** The vector as Qdrant stores it: float32, and normalised to unit length for Cosine. */
export function preprocess(vector: readonly number[], distance: Distance): Float32Array {
  const out = Float32Array.from(vector);
  if (distance !== 'Cosine') return out;
  let sum = 0;
  for (const x of out) sum += x * x;
  const norm = Math.sqrt(sum);
  if (norm < F32_EPSILON) return out;
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / norm;
  return out;
}

type Scorer = (q: Float32Array, vectors: Float32Array, base: number, size: number) => number;

// One tight loop per metric: the hot path of every search, 3.8M multiply-adds for 10k points of 384 dimensions.
const SCORERS: Record<Distance, Scorer> = {
  Cosine: dot,
  Dot: dot,
  Euclid: (q, v, base, size) => {
    let acc = 0;
    for (let j = 0; j < size; j++) {
      const d = (q[j] as number) - (v[base + j] as number);
      acc += d * d;
    }
    return Math.sqrt(acc);
  },
  Manhattan: (q, v, base, size) => {
    let acc = 0;
    for (let j = 0; j < size; j++) acc += Math.abs((q[j] as number) - (v[base + j] as number));
    return acc;
  },
};

function dot(q: Float32Array, v: Float32Array, base: number, size: number): number {
  let acc = 0;
  for (let j = 0; j < size; j++) acc += (q[j] as number) * (v[base + j] as number);
  return acc;
}

/**
 * Indices of the best `k` of `n` candidates, best first. A small k (the usual search) keeps a sorted list and
 * rarely inserts into it; a large one sorts everything.
 */
export function topK(n: number, k: number, better: (a: number, b: number) => boolean): number[] {
  if (k <= 0 || n === 0) return [];
  if (k > 64 || k * 4 >= n) {
    const all = Array.from({ length: n }, (_, i) => i);
    all.sort((a, b) => (better(a, b) ? -1 : better(b, a) ? 1 : 0));
    return all.slice(0, k);
  }
  const best: number[] = [];
  for (let i = 0; i < n; i++) {
    if (best.length === k && !better(i, best[k - 1] as number)) continue;
    let at = best.length === k ? k - 1 : best.length;
    while (at > 0 && better(i, best[at - 1] as number)) at--;
    if (best.length === k) best.pop();
    best.splice(at, 0, i);
  }
  return best;
}

/** A collection with one unnamed dense vector per point, searched by brute force (exact, like a plain segment). */
export class Collection {
  private ids: PointId[] = [];
  private versions: number[] = [];
  private payloads: Payload[] = [];
  private vectors: Float32Array;
  private readonly slots = new Map<string, number>();
  private nextOperation = 0;

  constructor(
    readonly name: string,
    readonly params: VectorParams,
  ) {
    this.vectors = new Float32Array(params.size * 16);
  }

  get pointsCount(): number {
    return this.ids.length;
  }

  get nextOperationId(): number {
    return this.nextOperation;
  }

  checkDimension(vector: readonly number[]): void {
    if (vector.length !== this.params.size) {
      throw ApiError.badInput(
        `Vector dimension error: expected dim: ${this.params.size}, got ${vector.length}`,
      );
    }
  }

  /** Inserts or replaces points; all or nothing. Returns the operation id, which is also the points' version. */
  upsert(points: readonly PointInput[]): number {
    for (const point of points) this.checkDimension(point.vector);
    const operation = this.nextOperation++;
    for (const point of points) {
      const key = pointIdKey(point.id);
      let slot = this.slots.get(key);
      if (slot === undefined) {
        slot = this.ids.length;
        this.ensureCapacity(slot + 1);
        this.slots.set(key, slot);
        this.ids.push(point.id);
        this.versions.push(operation);
        this.payloads.push(point.payload);
      } else {
        this.versions[slot] = operation;
        this.payloads[slot] = point.payload;
      }
      this.vectors.set(preprocess(point.vector, this.params.distance), slot * this.params.size);
    }
    return operation;
  }

  /** Deletes the given ids (missing ones are ignored, as in Qdrant). Returns the operation id. */
  deletePoints(ids: readonly PointId[]): number {
    const operation = this.nextOperation++;
    for (const id of ids) this.removeSlot(id);
    return operation;
  }

  deleteWhere(filter: Filter): number {
    const doomed = this.ids.filter((id, slot) => matchesFilter(filter, { id, payload: this.payload(slot) }));
    return this.deletePoints(doomed);
  }

  get(id: PointId): StoredPoint | undefined {
    const slot = this.slots.get(pointIdKey(id));
    return slot === undefined ? undefined : this.point(slot);
  }

  count(filter?: Filter): number {
    if (filter === undefined) return this.ids.length;
    let n = 0;
    for (let slot = 0; slot < this.ids.length; slot++) {
      if (matchesFilter(filter, { id: this.id(slot), payload: this.payload(slot) })) n++;
    }
    return n;
  }

  /** Points in id order from `from`, plus the id to continue from (null at the end). */
  scroll(options: ScrollOptions): { points: StoredPoint[]; next: PointId | null } {
    const slots: number[] = [];
    for (let slot = 0; slot < this.ids.length; slot++) {
      const id = this.id(slot);
      if (options.from !== undefined && comparePointIds(id, options.from) < 0) continue;
      if (options.filter && !matchesFilter(options.filter, { id, payload: this.payload(slot) })) continue;
      slots.push(slot);
    }
    slots.sort((a, b) => comparePointIds(this.id(a), this.id(b)));
    const page = slots.slice(0, options.limit).map((slot) => this.point(slot));
    const after = slots[options.limit];
    return { points: page, next: after === undefined ? null : this.id(after) };
  }

  /**
   * Exact nearest neighbours. Scores are Qdrant's: cosine similarity, dot product, or the Euclidean/Manhattan
   * distance (smaller is better); ties go to the smaller id so results are deterministic.
   */
  search(query: readonly number[], options: SearchOptions): ScoredPoint[] {
    this.checkDimension(query);
    const { size, distance } = this.params;
    const q = preprocess(query, distance);
    const larger = largerIsBetter(distance);
    // Qdrant reads the threshold as f32 and compares it with f32 scores.
    const threshold = options.scoreThreshold === undefined ? undefined : Math.fround(options.scoreThreshold);
    const score = SCORERS[distance];
    const slots: number[] = [];
    const scores: number[] = [];

    for (let slot = 0; slot < this.ids.length; slot++) {
      if (
        options.filter &&
        !matchesFilter(options.filter, { id: this.id(slot), payload: this.payload(slot) })
      ) {
        continue;
      }
      const value = Math.fround(score(q, this.vectors, slot * size, size));
      // Qdrant keeps only scores strictly better than the threshold.
      if (threshold !== undefined && !(larger ? value > threshold : value < threshold)) continue;
      slots.push(slot);
      scores.push(value);
    }

    const better = (a: number, b: number): boolean => {
      const sa = scores[a] as number;
      const sb = scores[b] as number;
      if (sa !== sb) return larger ? sa > sb : sa < sb;
      return comparePointIds(this.id(slots[a] as number), this.id(slots[b] as number)) < 0;
    };
    return topK(slots.length, options.offset + options.limit, better)
      .slice(options.offset)
      .map((i) => ({ ...this.point(slots[i] as number), score: scores[i] as number }));
  }

  snapshot(): CollectionSnapshot {
    const used = this.vectors.subarray(0, this.ids.length * this.params.size);
    return {
      format: 'qdrant-sim/collection@1',
      name: this.name,
      vectors: { ...this.params },
      nextOperationId: this.nextOperation,
      ids: [...this.ids],
      versions: [...this.versions],
      payloads: [...this.payloads],
      vectorData: encodeFloats(used),
    };
  }

  static restore(snapshot: CollectionSnapshot): Collection {
    const collection = new Collection(snapshot.name, snapshot.vectors);
    const floats = decodeFloats(snapshot.vectorData);
    const n = snapshot.ids.length;
    if (
      floats.length !== n * snapshot.vectors.size ||
      snapshot.versions.length !== n ||
      snapshot.payloads.length !== n
    ) {
      throw new Error(`collection ${snapshot.name}: point arrays and vector data disagree in length`);
    }
    collection.ensureCapacity(n);
    collection.vectors.set(floats);
    collection.ids = [...snapshot.ids];
    collection.versions = [...snapshot.versions];
    collection.payloads = [...snapshot.payloads];
    collection.ids.forEach((id, slot) => collection.slots.set(pointIdKey(id), slot));
    collection.nextOperation = snapshot.nextOperationId;
    return collection;
  }

  private id(slot: number): PointId {
    return this.ids[slot] as PointId;
  }

  private payload(slot: number): Payload {
    return this.payloads[slot] as Payload;
  }

  private point(slot: number): StoredPoint {
    const size = this.params.size;
    return {
      id: this.id(slot),
      version: this.versions[slot] as number,
      payload: this.payload(slot),
      vector: this.vectors.slice(slot * size, (slot + 1) * size),
    };
  }

  /** Swap-remove keeps the storage dense; order is restored by sorting wherever it is visible. */
  private removeSlot(id: PointId): void {
    const key = pointIdKey(id);
    const slot = this.slots.get(key);
    if (slot === undefined) return;
    const last = this.ids.length - 1;
    const size = this.params.size;
    if (slot !== last) {
      const moved = this.id(last);
      this.ids[slot] = moved;
      this.versions[slot] = this.versions[last] as number;
      this.payloads[slot] = this.payload(last);
      this.vectors.copyWithin(slot * size, last * size, (last + 1) * size);
      this.slots.set(pointIdKey(moved), slot);
    }
    this.ids.pop();
    this.versions.pop();
    this.payloads.pop();
    this.slots.delete(key);
  }

  private ensureCapacity(points: number): void {
    const needed = points * this.params.size;
    if (needed <= this.vectors.length) return;
    const grown = new Float32Array(Math.max(needed, this.vectors.length * 2));
    grown.set(this.vectors);
    this.vectors = grown;
  }
}

const LITTLE_ENDIAN = endianness() === 'LE';

function encodeFloats(floats: Float32Array): string {
  if (LITTLE_ENDIAN)
    return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString('base64');
  const buffer = Buffer.alloc(floats.length * 4);
  floats.forEach((x, i) => buffer.writeFloatLE(x, i * 4));
  return buffer.toString('base64');
}

function decodeFloats(data: string): Float32Array {
  const bytes = Buffer.from(data, 'base64');
  if (bytes.length % 4 !== 0) throw new Error('vector data is not a whole number of float32 values');
  // Copied rather than viewed: the decoded buffer need not be 4-byte aligned.
  if (LITTLE_ENDIAN)
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}
