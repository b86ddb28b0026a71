export const REDACTED = '***';

/** Names the contract treats as secret: HF_TOKEN, *_TOKEN, *_KEY, *_SECRET, *PASSWORD*. */
export function isSecretName(name: string): boolean {
  const upper = name.toUpperCase();
  return (
    upper === 'HF_TOKEN' ||
    upper.endsWith('_TOKEN') ||
    upper.endsWith('_KEY') ||
    upper.endsWith('_SECRET') ||
    upper.includes('PASSWORD')
  );
}

/** Deep copy of `value` with every secret-named key's value replaced by `***`. */
export function redactSecrets<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item: unknown) => redactSecrets(item)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      out[key] = isSecretName(key) && inner !== null && inner !== undefined ? REDACTED : redactSecrets(inner);
    }
    return out as T;
  }
  return value;
}
