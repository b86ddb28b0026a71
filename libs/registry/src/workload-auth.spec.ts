import * as crypto from 'node:crypto';
import { keyProofOf, replicaApiKey, workloadApiKey } from './workload-auth';

// Counts the HMACs computed, passing each on to the real one.
jest.mock('node:crypto', () => {
  const actual = jest.requireActual<typeof import('node:crypto')>('node:crypto');
  return { ...actual, createHmac: jest.fn(actual.createHmac) };
});
const { createHmac } = crypto;

describe('workloadApiKey', () => {
  it("is the job's own key for a single workload", () => {
    expect(workloadApiKey({ api_key: 'k1' })).toBe('k1');
  });

  it("sends a replica its own key, never the node job's nor a sibling's", () => {
    const keys = [0, 1, 2, 3].map((index) => workloadApiKey({ api_key: 'node' }, index));
    expect(new Set(keys).size).toBe(4);
    expect(keys).not.toContain('node');
    expect(workloadApiKey({ api_key: 'node' }, 2)).toBe(keys[2]);
    expect(keys[1]).toBe(replicaApiKey('node', 1));
    // Safe in a header, in an environment variable and in the comma-separated list the job reads.
    expect(keys[0]).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("derives a replica's key once, not on every call to it", () => {
    const first = workloadApiKey({ api_key: 'cached-node' }, 3);
    const hmacs = jest.mocked(createHmac).mock.calls.length;
    for (let i = 0; i < 100; i += 1) {
      expect(workloadApiKey({ api_key: 'cached-node' }, 3)).toBe(first);
    }
    expect(jest.mocked(createHmac).mock.calls.length).toBe(hmacs);
    // Another job's replica 3 has its own key.
    expect(workloadApiKey({ api_key: 'other-node' }, 3)).not.toBe(first);
    expect(first).toBe(replicaApiKey('cached-node', 3));
  });

  it('is none for a record from before keys existed (its workload has none)', () => {
    expect(workloadApiKey({})).toBeUndefined();
    expect(workloadApiKey({}, 1)).toBeUndefined();
  });
});

describe('keyProofOf', () => {
  it("is auth_front.py's answer: hex HMAC-SHA256 of aiplane-proof:<nonce>", () => {
    const expected = createHmac('sha256', 'k').update('aiplane-proof:abcdefabcdefabcdef').digest('hex');
    expect(keyProofOf('k', 'abcdefabcdefabcdef')).toBe(expected);
    expect(keyProofOf('other', 'abcdefabcdefabcdef')).not.toBe(expected);
  });
});
