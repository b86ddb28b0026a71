import { createHash } from 'node:crypto';

/**
 * Uniform numbers in [0, 1) that depend only on (seed, stream, index): the k-th draw is the first
 * 48 bits of SHA-256 over them, so a run is reproducible from its seed without a hand-made PRNG.
 */
export function seededUniform(seed: number, stream: string, index: number): number {
  const digest = createHash('sha256')
    .update(`${String(seed)}:${stream}:${String(index)}`)
    .digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/**
 * Arrival times (ms from the start) of a Poisson process of `rate` per second: exponential gaps
 * of mean 1000/rate, by inversion of the uniform draws.
 */
export function* poissonArrivals(rate: number, seed: number): Generator<number, never> {
  let at = 0;
  for (let index = 0; ; index++) {
    const uniform = seededUniform(seed, 'arrival', index);
    at += (-Math.log(1 - uniform) / rate) * 1_000;
    yield at;
  }
}
