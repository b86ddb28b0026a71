import { hash32, prng } from './generation';

/** What one embedding input is, once read: text, or token ids as a client may send them. */
export type EmbeddingInput = string | readonly number[];

/**
 * A deterministic stand-in for a sentence encoder: the sum of one pseudo-random direction per token (seeded by
 * model and token), scaled to unit length as vLLM's normalising pooler does. Inputs sharing words point in
 * similar directions, so searches over simulated embeddings rank by word overlap instead of by chance.
 */
export function embed(model: string, tokens: readonly string[], dimension: number): Float32Array {
  const sum = new Float64Array(dimension);
  // A constant term stands in for the special tokens every real input carries, so even '' has a direction.
  for (const token of ['<s>', ...tokens]) {
    const random = prng(hash32(`${model}\u0000${token.toLowerCase()}`));
    for (let i = 0; i < dimension; i++) sum[i] = (sum[i] as number) + (random() * 2 - 1);
  }
  let norm = 0;
  for (const x of sum) norm += x * x;
  norm = Math.sqrt(norm);
  const out = new Float32Array(dimension);
  for (let i = 0; i < dimension; i++) out[i] = (sum[i] as number) / norm;
  return out;
}

/** Token ids read as words, so the same ids always embed alike. */
export function tokenIdsAsTokens(ids: readonly number[]): string[] {
  return ids.map((id) => `#${id}`);
}

/** Keeps the first `dimensions` values and renormalises, as vLLM does for Matryoshka models. */
export function truncateEmbedding(vector: Float32Array, dimensions: number): Float32Array {
  const out = vector.slice(0, dimensions);
  let norm = 0;
  for (const x of out) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / norm;
  return out;
}

/** numpy's float32 `tobytes()` on a little-endian host, base64-encoded: what `encoding_format: "base64"` sends. */
export function float32Base64(vector: Float32Array): string {
  const bytes = Buffer.alloc(vector.length * 4);
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i] as number, i * 4);
  return bytes.toString('base64');
}
