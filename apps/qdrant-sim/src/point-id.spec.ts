import fc from 'fast-check';

import { comparePointIds, parsePointId, parsePointIdText, pointIdKey } from './point-id';

const UUID = '5c56c793-69f3-4fbf-87e6-c4bf54c28c26';

describe('point ids', () => {
  it('accepts unsigned integers and UUIDs only, as Qdrant does', () => {
    expect(parsePointId(0)).toBe(0);
    expect(parsePointId(42)).toBe(42);
    expect(parsePointId(UUID)).toBe(UUID);
    for (const bad of [-1, 1.5, 2 ** 60, 'doc-1', '42', '', null, true, {}, []]) {
      expect(parsePointId(bad)).toBeUndefined();
    }
  });

  it('reads every UUID spelling the Rust uuid crate reads and writes it canonically', () => {
    const simple = UUID.replace(/-/g, '');
    for (const form of [UUID.toUpperCase(), simple, `{${UUID}}`, `urn:uuid:${UUID}`]) {
      expect(parsePointId(form)).toBe(UUID);
    }
    expect(parsePointId(`${UUID}0`)).toBeUndefined();
    expect(parsePointId(UUID.replace(/-/g, '_'))).toBeUndefined();
  });

  it('parses ids written in a URL path', () => {
    expect(parsePointIdText('17')).toBe(17);
    expect(parsePointIdText('+17')).toBe(17);
    expect(parsePointIdText(UUID)).toBe(UUID);
    expect(parsePointIdText('search')).toBeUndefined();
    expect(parsePointIdText('-3')).toBeUndefined();
  });

  it('orders integers before UUIDs, each ascending', () => {
    const ids = [UUID, 10, 'ffffffff-0000-0000-0000-000000000000', 2, '00000000-0000-0000-0000-000000000001'];
    expect([...ids].sort(comparePointIds)).toEqual([
      2,
      10,
      '00000000-0000-0000-0000-000000000001',
      UUID,
      'ffffffff-0000-0000-0000-000000000000',
    ]);
  });

  it('keys never collide between the two kinds', () => {
    fc.assert(
      fc.property(fc.nat(), fc.uuid(), (n, uuid) => {
        expect(pointIdKey(n)).not.toBe(pointIdKey(uuid));
      }),
    );
  });
});
