/**
 * The seeded PRNG behind sampling: xoshiro128** seeded through splitmix32. One stream per image,
 * keyed by (seed, image index), so an image's tokens do not depend on how many others share its batch.
 */
import { checkSeed } from './seed.ts';

export type Rng = () => number;

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * A uniform [0, 1) generator for `seed` (0 … 2^32 − 1, see seed.ts) and `stream` (same range).
 * The seed (through its own splitmix32) fixes one word of the 128-bit state and the stream two, so
 * every (seed, stream) pair starts a distinct sequence: folding both into one 32-bit word would
 * let image 1 of one seed repeat image 0 of another.
 */
export function createRng(seed: number, stream = 0): Rng {
  checkSeed(seed);
  if (!Number.isInteger(stream) || stream < 0 || stream > 0xffffffff) throw new RangeError(`bad stream ${stream}`);
  const fromSeed = splitmix32(seed);
  const fromStream = splitmix32(stream ^ 0x165667b1);
  const c = fromStream();
  const d = fromStream();
  // The first output depends on b alone: b takes both, so the streams of a seed differ from their first draw on
  // (for a fixed stream b is still a bijection of the seed, and for a fixed seed of the stream).
  return xoshiro128(fromSeed(), fromSeed() ^ d, c, d);
}

function xoshiro128(a: number, b: number, c: number, d: number): Rng {
  return () => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result / 4294967296;
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
