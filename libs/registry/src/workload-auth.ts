import { createHmac } from 'node:crypto';
import type { StoredService } from './registry.types';

/**
 * Replica `index` of a group's node job runs with its own key, derived from the node job's stored
 * one, so a replica endpoint that another user squats never earns a key that opens another replica.
 * The worker hands the job every replica's key; the proxy and the prober derive the one they call.
 */
export function replicaApiKey(nodeKey: string, index: number): string {
  return createHmac('sha256', nodeKey).update(`aiplane-replica:${index}`).digest('base64url');
}

// The proxy needs a replica's key on every call to it: derived once per (job key, replica), not per
// request. Replicas in service are few; the bound only keeps keys of ended jobs from piling up.
const REPLICA_KEY_CACHE_LIMIT = 4096;
const replicaKeys = new Map<string, Map<number, string>>();

/** replicaApiKey, remembered. */
export function cachedReplicaApiKey(nodeKey: string, index: number): string {
  let byIndex = replicaKeys.get(nodeKey);
  if (byIndex === undefined) {
    if (replicaKeys.size >= REPLICA_KEY_CACHE_LIMIT) replicaKeys.clear();
    byIndex = new Map();
    replicaKeys.set(nodeKey, byIndex);
  }
  let key = byIndex.get(index);
  if (key === undefined) {
    key = replicaApiKey(nodeKey, index);
    byIndex.set(index, key);
  }
  return key;
}

/**
 * The key of the workload a call goes to: the replica's own in a group, else the job's. A record
 * from before keys existed has none, and neither has its workload.
 */
export function workloadApiKey(
  service: Pick<StoredService, 'api_key'>,
  replicaIndex?: number,
): string | undefined {
  if (service.api_key === undefined) return undefined;
  return replicaIndex === undefined ? service.api_key : cachedReplicaApiKey(service.api_key, replicaIndex);
}

/**
 * What auth_front.py answers to `GET /aiplane/proof?nonce=<nonce>` when it holds `key`: the hex
 * HMAC-SHA256 of `aiplane-proof:<nonce>`, domain-separated so that its answers serve no other use.
 */
export function keyProofOf(key: string, nonce: string): string {
  return createHmac('sha256', key).update(`aiplane-proof:${nonce}`).digest('hex');
}

/** The front's proof route; the nonce must be 16-128 characters of A-Z a-z 0-9 _ -. */
export const KEY_PROOF_PATH = '/aiplane/proof';
