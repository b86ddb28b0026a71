import fc from 'fast-check';

import { Collection, preprocess, shortestFloat32, topK, type Distance, type PointInput } from './collection';

const points: PointInput[] = [
  { id: 1, vector: [1, 0, 0], payload: { city: 'Berlin' } },
  { id: 2, vector: [0, 1, 0], payload: { city: 'London' } },
  { id: 3, vector: [1, 1, 0], payload: { city: 'Berlin' } },
  { id: 4, vector: [0, 0, 2], payload: {} },
];

function collection(distance: Distance, input: PointInput[] = points): Collection {
  const c = new Collection('test', { size: 3, distance });
  c.upsert(input);
  return c;
}

const ranked = (c: Collection, query: number[], extra: Partial<Parameters<Collection['search']>[1]> = {}) =>
  c.search(query, { limit: 10, offset: 0, ...extra }).map((hit) => [hit.id, hit.score]);

describe('Collection.search', () => {
  // Expected scores worked out by hand for query [3, 4, 0] against the four points above.
  it('Cosine: similarity of unit vectors, best first', () => {
    const result = ranked(collection('Cosine'), [3, 4, 0]);
    expect(result.map(([id]) => id)).toEqual([3, 2, 1, 4]);
    const scores = result.map(([, score]) => score as number);
    expect(scores[0]).toBeCloseTo(1.4 / Math.SQRT2, 6); // (0.6 + 0.8) / √2
    expect(scores[1]).toBeCloseTo(0.8, 6);
    expect(scores[2]).toBeCloseTo(0.6, 6);
    expect(scores[3]).toBe(0);
  });

  it('Dot: raw dot product, best first', () => {
    expect(ranked(collection('Dot'), [3, 4, 0])).toEqual([
      [3, 7],
      [2, 4],
      [1, 3],
      [4, 0],
    ]);
  });

  it('Euclid: the distance itself, nearest first', () => {
    const result = ranked(collection('Euclid'), [3, 4, 0]);
    expect(result.map(([id]) => id)).toEqual([3, 2, 1, 4]);
    const scores = result.map(([, score]) => score as number);
    expect(scores[0]).toBeCloseTo(Math.sqrt(4 + 9), 5); // |(3,4,0) - (1,1,0)|
    expect(scores[1]).toBeCloseTo(Math.sqrt(9 + 9), 5);
    expect(scores[2]).toBeCloseTo(Math.sqrt(4 + 16), 5);
    expect(scores[3]).toBeCloseTo(Math.sqrt(9 + 16 + 4), 5);
  });

  it('Manhattan: sum of absolute differences, nearest first', () => {
    expect(ranked(collection('Manhattan'), [3, 4, 0])).toEqual([
      [3, 5],
      [1, 6], // ties with 2 at 6: the smaller id first
      [2, 6],
      [4, 9],
    ]);
  });

  it('breaks ties by id, integers before UUIDs', () => {
    const uuid = '00000000-0000-0000-0000-00000000000a';
    const c = collection('Dot', [
      { id: uuid, vector: [1, 0, 0], payload: {} },
      { id: 9, vector: [1, 0, 0], payload: {} },
      { id: 5, vector: [1, 0, 0], payload: {} },
    ]);
    expect(ranked(c, [1, 0, 0]).map(([id]) => id)).toEqual([5, 9, uuid]);
  });

  it('keeps only scores strictly better than score_threshold, and honours offset and limit', () => {
    expect(ranked(collection('Cosine'), [3, 4, 0], { scoreThreshold: 0.8 }).map(([id]) => id)).toEqual([3]);
    expect(ranked(collection('Euclid'), [3, 4, 0], { scoreThreshold: 4.2 }).map(([id]) => id)).toEqual([3]);
    expect(ranked(collection('Dot'), [3, 4, 0], { offset: 1, limit: 2 }).map(([id]) => id)).toEqual([2, 1]);
  });

  it('filters on payload before ranking', () => {
    const filter = {
      must: [{ kind: 'match' as const, key: 'city', value: 'Berlin' }],
      should: [],
      mustNot: [],
    };
    expect(ranked(collection('Dot'), [3, 4, 0], { filter }).map(([id]) => id)).toEqual([3, 1]);
  });

  it('stores Cosine vectors normalised, as Qdrant does', () => {
    const c = collection('Cosine');
    expect(Array.from(c.get(3)!.vector, shortestFloat32)).toEqual([0.70710677, 0.70710677, 0]);
    expect(Array.from(c.get(4)!.vector)).toEqual([0, 0, 1]);
    expect(Array.from(preprocess([0, 0, 0], 'Cosine'))).toEqual([0, 0, 0]);
  });

  it('refuses vectors of the wrong dimension with Qdrant message', () => {
    const c = collection('Dot');
    expect(() => c.upsert([{ id: 9, vector: [1, 2], payload: {} }])).toThrow(
      'Wrong input: Vector dimension error: expected dim: 3, got 2',
    );
    expect(() => c.search([1, 2, 3, 4], { limit: 1, offset: 0 })).toThrow('expected dim: 3, got 4');
    // All or nothing: the valid point in the failed batch was not stored and no operation was used.
    expect(c.pointsCount).toBe(4);
    expect(c.nextOperationId).toBe(1);
  });
});

describe('Collection updates', () => {
  it('versions points with the operation that last wrote them', () => {
    const c = collection('Dot');
    expect(c.upsert([{ id: 2, vector: [0, 2, 0], payload: { city: 'Paris' } }])).toBe(1);
    expect(c.get(1)).toMatchObject({ version: 0, payload: { city: 'Berlin' } });
    expect(c.get(2)).toMatchObject({ version: 1, payload: { city: 'Paris' } });
    expect(Array.from(c.get(2)!.vector)).toEqual([0, 2, 0]);
    expect(c.pointsCount).toBe(4);
  });

  it('deletes by id and by filter, keeping the rest intact', () => {
    const c = collection('Dot');
    expect(c.deletePoints([1, 99])).toBe(1);
    expect(c.get(1)).toBeUndefined();
    expect(c.pointsCount).toBe(3);
    expect(Array.from(c.get(4)!.vector)).toEqual([0, 0, 2]);
    c.deleteWhere({ must: [{ kind: 'match', key: 'city', value: 'London' }], should: [], mustNot: [] });
    expect(c.scroll({ limit: 10 }).points.map((p) => p.id)).toEqual([3, 4]);
  });

  it('behaves like a map of id to point under any sequence of upserts and deletes', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({
              op: fc.constant('upsert' as const),
              id: fc.nat(20),
              x: fc.integer({ min: -5, max: 5 }),
            }),
            fc.record({ op: fc.constant('delete' as const), id: fc.nat(20) }),
          ),
        ),
        (ops) => {
          const c = new Collection('prop', { size: 2, distance: 'Dot' });
          const model = new Map<number, number>();
          for (const step of ops) {
            if (step.op === 'upsert') {
              c.upsert([{ id: step.id, vector: [step.x, 1], payload: { x: step.x } }]);
              model.set(step.id, step.x);
            } else {
              c.deletePoints([step.id]);
              model.delete(step.id);
            }
          }
          expect(c.pointsCount).toBe(model.size);
          for (const [id, x] of model) {
            expect(c.get(id)?.payload).toEqual({ x });
            expect(Array.from(c.get(id)!.vector)).toEqual([x, 1]);
          }
          const restored = Collection.restore(c.snapshot());
          expect(restored.scroll({ limit: 100 })).toEqual(c.scroll({ limit: 100 }));
          expect(restored.nextOperationId).toBe(c.nextOperationId);
        },
      ),
    );
  });

  it('scrolls in id order from an offset', () => {
    const c = collection('Dot');
    expect(c.scroll({ limit: 2 })).toMatchObject({ points: [{ id: 1 }, { id: 2 }], next: 3 });
    expect(c.scroll({ limit: 2, from: 3 })).toMatchObject({ points: [{ id: 3 }, { id: 4 }], next: null });
  });
});

describe('topK', () => {
  it('picks the same best k as a full sort, for small and large k', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 20 })),
        fc.integer({ min: 0, max: 120 }),
        (values, k) => {
          const better = (a: number, b: number): boolean =>
            values[a]! !== values[b]! ? values[a]! > values[b]! : a < b;
          const expected = values
            .map((_, i) => i)
            .sort((a, b) => (better(a, b) ? -1 : 1))
            .slice(0, k);
          expect(topK(values.length, k, better)).toEqual(expected);
        },
      ),
    );
  });
});

describe('shortestFloat32', () => {
  it('prints the float32 the way Qdrant does', () => {
    expect(shortestFloat32(0.1)).toBe(0.1);
    expect(shortestFloat32(Math.fround(0.1))).toBe(0.1);
    expect(shortestFloat32(1 / 3)).toBe(0.33333334);
    expect(shortestFloat32(0)).toBe(0);
    expect(shortestFloat32(7)).toBe(7);
  });

  it('always reads back as the same float32', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (x) => {
        expect(Math.fround(shortestFloat32(x))).toBe(Math.fround(x));
      }),
    );
  });
});

describe('performance', () => {
  it('searches 10k points of 384 dimensions quickly', () => {
    const size = 384;
    let seed = 1;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648 - 0.5;
    };
    const c = new Collection('big', { size, distance: 'Cosine' });
    const batch: PointInput[] = [];
    for (let id = 0; id < 10_000; id++) {
      batch.push({ id, vector: Array.from({ length: size }, random), payload: { even: id % 2 === 0 } });
    }
    c.upsert(batch);
    const query = Array.from({ length: size }, random);
    c.search(query, { limit: 10, offset: 0 });
    const began = performance.now();
    const hits = c.search(query, { limit: 10, offset: 0 });
    const elapsed = performance.now() - began;
    expect(hits).toHaveLength(10);
    for (let i = 1; i < hits.length; i++) expect(hits[i - 1]!.score).toBeGreaterThanOrEqual(hits[i]!.score);
    // Generous for loaded CI machines; an idle laptop takes a few milliseconds.
    expect(elapsed).toBeLessThan(500);
  });
});
