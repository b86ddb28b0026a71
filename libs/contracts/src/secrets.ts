export const REDACTED = '***';

// Parts of a name that mark its value as a credential. Matched per `_`-separated part (and at the
// end of a run-together part, as in APIKEY or HFTOKEN) rather than anywhere in the name, so that
// counts and settings that merely mention a word stay visible: VLLM_MAX_NUM_BATCHED_TOKENS,
// TOKENIZER, KEYBOARD.
const SECRET_PARTS = ['TOKEN', 'KEY', 'SECRET', 'PASS', 'PASSWD', 'CREDENTIAL', 'CREDENTIALS'];
const SECRET_INFIXES = ['PASSWORD', 'SECRET', 'CREDENTIAL'];

/**
 * Names the contract treats as secret: HF_TOKEN, *TOKEN*, *KEY*, *SECRET*, *PASSWORD*,
 * *CREDENTIAL*, *_PASS (as whole parts of the name, see SECRET_PARTS).
 */
export function isSecretName(name: string): boolean {
  const upper = name.toUpperCase();
  if (SECRET_INFIXES.some((infix) => upper.includes(infix))) return true;
  return upper
    .split(/[^A-Z0-9]+/)
    .some((part) => SECRET_PARTS.some((word) => part === word || (part.endsWith(word) && word !== 'PASS')));
}

// `scheme://user:password@host`: the password is a credential wherever the URL is written.
const URL_USERINFO = /\b([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#@\s:]*):([^/?#@\s]*)@/g;

/** `value` with the password of every `user:password@` URL in it replaced by `***`. */
export function redactUrlCredentials(value: string): string {
  return value.replace(
    URL_USERINFO,
    (_match, scheme: string, user: string) => `${scheme}${user}:${REDACTED}@`,
  );
}

/**
 * Deep copy of `value` with every secret-named key's value replaced by `***`, and the password of
 * every `user:password@` URL in the remaining strings too.
 */
export function redactSecrets<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item: unknown) => redactSecrets(item)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      out[key] = isSecretName(key) && inner !== null && inner !== undefined ? REDACTED : redactSecrets(inner);
    }
    return out as T;
  }
  if (typeof value === 'string') return redactUrlCredentials(value) as T;
  return value;
}
