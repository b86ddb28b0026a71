import fc from 'fast-check';
import { RESERVED_PAYLOAD_KEY } from '@aiplane/contracts';
import {
  fromQdrantPoint,
  isCanonicalUuid,
  isMapped,
  toQdrantId,
  toQdrantPayload,
  uuidV5,
  type UserPointId,
} from './point-id';

const V5_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const canonicalUuid = fc.uuid().map((uuid) => uuid.toLowerCase());
const userString = fc.string({ minLength: 1, maxLength: 64, unit: 'grapheme' });
const userId: fc.Arbitrary<UserPointId> = fc.oneof(fc.maxSafeNat(), canonicalUuid, userString);
const payload = fc.option(
  fc.dictionary(
    fc.string().filter((key) => key !== RESERVED_PAYLOAD_KEY && key !== '__proto__'),
    fc.jsonValue(),
    { maxKeys: 5 },
  ),
  { nil: undefined },
);

describe('point ids', () => {
  it('implements RFC 9562 version 5 (the RFC example: DNS namespace, www.example.com)', () => {
    const dns = Buffer.from('6ba7b8109dad11d180b400c04fd430c8', 'hex');
    expect(uuidV5('www.example.com', dns)).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('passes unsigned integers and canonical UUIDs through unchanged', () => {
    fc.assert(
      fc.property(fc.oneof(fc.maxSafeNat(), canonicalUuid), (id) => {
        expect(toQdrantId(id)).toBe(id);
        expect(isMapped(id)).toBe(false);
      }),
    );
  });

  it('maps every other string to a version 5 UUID, the same one every time', () => {
    fc.assert(
      fc.property(
        userString.filter((id) => !isCanonicalUuid(id)),
        (id) => {
          const mapped = toQdrantId(id);
          expect(mapped).toMatch(V5_UUID);
          expect(toQdrantId(id)).toBe(mapped);
          expect(isMapped(id)).toBe(true);
        },
      ),
    );
  });

  it('maps distinct strings to distinct UUIDs', () => {
    fc.assert(
      fc.property(fc.uniqueArray(userString, { minLength: 2, maxLength: 50 }), (ids) => {
        expect(new Set(ids.map(toQdrantId)).size).toBe(ids.length);
      }),
    );
  });

  it('treats a UUID in another spelling as a string of its own, so it comes back as sent', () => {
    const upper = 'A1B2C3D4-0000-4000-8000-00000000000F';
    expect(toQdrantId(upper)).not.toBe(upper.toLowerCase());
    const stored = toQdrantPayload(upper, { text: 'x' });
    expect(fromQdrantPoint(toQdrantId(upper), stored)).toEqual({ id: upper, payload: { text: 'x' } });
  });

  it('round-trips any id and payload through what Qdrant stores', () => {
    fc.assert(
      fc.property(userId, payload, (id, original) => {
        const stored = toQdrantPayload(id, original);
        expect(stored[RESERVED_PAYLOAD_KEY] !== undefined).toBe(isMapped(id));
        expect(fromQdrantPoint(toQdrantId(id), stored)).toEqual({ id, payload: original ?? {} });
      }),
    );
  });

  it('never believes an original that does not map to the id Qdrant returned', () => {
    expect(fromQdrantPoint(5, { [RESERVED_PAYLOAD_KEY]: 'doc-1', text: 'a' })).toEqual({
      id: 5,
      payload: { text: 'a' },
    });
    const other = toQdrantId('doc-2');
    expect(fromQdrantPoint(other, { [RESERVED_PAYLOAD_KEY]: 'doc-1' })).toEqual({ id: other, payload: {} });
  });

  it('drops a reserved key smuggled into a payload for an id that needs no mapping', () => {
    expect(toQdrantPayload(7, { [RESERVED_PAYLOAD_KEY]: 'forged', text: 'a' })).toEqual({ text: 'a' });
  });

  it('gives no payload when Qdrant returned none', () => {
    expect(fromQdrantPoint(1, null)).toEqual({ id: 1, payload: null });
    expect(fromQdrantPoint(1, undefined)).toEqual({ id: 1, payload: null });
  });
});
