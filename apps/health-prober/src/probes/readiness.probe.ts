import { randomBytes, timingSafeEqual } from 'node:crypto';
import { KEY_PROOF_PATH, keyProofOf } from '@aiplane/registry';

/** How one probe ended; `unproven` is an endpoint that answers but cannot show it holds the key. */
export type ProbeOutcome = 'ready' | 'not_ready' | 'unproven';

// A proof is 64 hex characters; a listener that sends more is not a front, and is not read further.
const PROOF_MAX_BYTES = 256;

/**
 * One readiness check of a workload behind auth_front.py. The endpoint first proves it holds `key`
 * (an HMAC of a fresh nonce, asked without the key); only then is the key sent, to the readiness
 * path, where any 2xx within the timeout means ready. So a process that took over the port is
 * never marked ready and never sees the key. A record from before keys existed (no key) gets the
 * readiness request alone. Redirects are not followed: a probe asks one URL.
 */
export async function probeWorkload(
  endpoint: string,
  readinessPath: string,
  key: string | undefined,
  timeoutMs: number,
): Promise<ProbeOutcome> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    if (key !== undefined && !(await proves(endpoint, key, signal))) return 'unproven';
    const response = await fetch(`${endpoint}${readinessPath}`, {
      signal,
      redirect: 'manual',
      headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
    });
    await response.body?.cancel();
    return response.status >= 200 && response.status < 300 ? 'ready' : 'not_ready';
  } catch {
    return 'not_ready';
  }
}

/** Whether the endpoint answers this probe's nonce with the key's proof; throws when unreachable. */
async function proves(endpoint: string, key: string, signal: AbortSignal): Promise<boolean> {
  const nonce = randomBytes(24).toString('hex');
  const response = await fetch(`${endpoint}${KEY_PROOF_PATH}?nonce=${nonce}`, { signal, redirect: 'manual' });
  const body = await boundedText(response);
  if (response.status !== 200 || body === undefined) return false;
  const expected = Buffer.from(keyProofOf(key, nonce));
  const actual = Buffer.from(body.trim());
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

async function boundedText(response: Response): Promise<string | undefined> {
  if (response.body === null) return '';
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > PROOF_MAX_BYTES) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
