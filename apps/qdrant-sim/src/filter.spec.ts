import { matchesFilter, valuesAt, type Condition, type Filter } from './filter';

const filter = (f: Partial<Filter>): Filter => ({ must: [], should: [], mustNot: [], ...f });
const match = (key: string, value: string | number | boolean): Condition => ({ kind: 'match', key, value });

const berlin = {
  id: 1,
  payload: {
    city: 'Berlin',
    tags: ['a', 'b'],
    count: 3,
    price: 9.5,
    shop: { owner: { name: 'Ada' } },
    none: null,
  },
};
const london = {
  id: 2,
  payload: { city: 'London', tags: [], count: 7, stores: [{ city: 'Paris' }, { city: 'Rome' }] },
};

describe('valuesAt', () => {
  it('follows nested keys and flattens arrays on the way', () => {
    expect(valuesAt(berlin.payload, 'shop.owner.name')).toEqual(['Ada']);
    expect(valuesAt(berlin.payload, 'tags')).toEqual(['a', 'b']);
    expect(valuesAt(berlin.payload, 'tags[]')).toEqual(['a', 'b']);
    expect(valuesAt(london.payload, 'stores[].city')).toEqual(['Paris', 'Rome']);
    expect(valuesAt(london.payload, 'stores.city')).toEqual(['Paris', 'Rome']);
    expect(valuesAt(london.payload, 'missing.key')).toEqual([]);
    // Only the payload's own keys: nothing inherited from Object.prototype.
    expect(valuesAt(berlin.payload, 'toString')).toEqual([]);
    expect(valuesAt(berlin.payload, 'shop.constructor')).toEqual([]);
  });
});

describe('matchesFilter', () => {
  it('matches keywords, integers and booleans like with like, and any element of an array', () => {
    expect(matchesFilter(filter({ must: [match('city', 'Berlin')] }), berlin)).toBe(true);
    expect(matchesFilter(filter({ must: [match('city', 'berlin')] }), berlin)).toBe(false);
    expect(matchesFilter(filter({ must: [match('tags', 'b')] }), berlin)).toBe(true);
    expect(matchesFilter(filter({ must: [match('count', 3)] }), berlin)).toBe(true);
    expect(matchesFilter(filter({ must: [match('count', '3')] }), berlin)).toBe(false);
    expect(matchesFilter(filter({ must: [match('stores[].city', 'Rome')] }), london)).toBe(true);
  });

  it('combines must (all), should (at least one) and must_not (none)', () => {
    const f = filter({
      must: [{ kind: 'range', key: 'count', range: { gte: 3 } }],
      should: [match('city', 'Berlin'), match('city', 'Paris')],
      mustNot: [match('tags', 'z')],
    });
    expect(matchesFilter(f, berlin)).toBe(true);
    expect(matchesFilter(f, london)).toBe(false);
    expect(matchesFilter(filter({ mustNot: [match('city', 'Berlin')] }), berlin)).toBe(false);
    expect(matchesFilter(filter({}), berlin)).toBe(true);
  });

  it('supports match any/except, ranges, ids, emptiness and nested filters', () => {
    expect(
      matchesFilter(filter({ must: [{ kind: 'match_any', key: 'city', any: ['Rome', 'London'] }] }), london),
    ).toBe(true);
    expect(
      matchesFilter(filter({ must: [{ kind: 'match_except', key: 'city', except: ['London'] }] }), london),
    ).toBe(false);
    expect(
      matchesFilter(filter({ must: [{ kind: 'range', key: 'price', range: { gt: 9, lt: 10 } }] }), berlin),
    ).toBe(true);
    expect(matchesFilter(filter({ must: [{ kind: 'has_id', ids: new Set(['2']) }] }), london)).toBe(true);
    expect(matchesFilter(filter({ must: [{ kind: 'is_empty', key: 'tags' }] }), london)).toBe(true);
    expect(matchesFilter(filter({ must: [{ kind: 'is_empty', key: 'tags' }] }), berlin)).toBe(false);
    expect(matchesFilter(filter({ must: [{ kind: 'is_empty', key: 'absent' }] }), berlin)).toBe(true);
    expect(matchesFilter(filter({ must: [{ kind: 'is_null', key: 'none' }] }), berlin)).toBe(true);
    expect(matchesFilter(filter({ must: [{ kind: 'is_null', key: 'absent' }] }), berlin)).toBe(false);
    const nested: Condition = {
      kind: 'nested_filter',
      filter: filter({ should: [match('city', 'London')] }),
    };
    expect(matchesFilter(filter({ mustNot: [nested] }), berlin)).toBe(true);
    expect(matchesFilter(filter({ mustNot: [nested] }), london)).toBe(false);
  });
});
