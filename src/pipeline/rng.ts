/**
 * The seeded PRNG behind sampling: xoshiro128** seeded through splitmix32. One stream per image,
 * keyed by (seed, image index), so an image's tokens do not depend on how many others share its batch.
 */
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

/** A uniform [0, 1) generator for `seed` (any safe integer) and `stream`. */
export function createRng(seed: number, stream = 0): Rng {
  const low = seed >>> 0;
  const high = Math.floor(seed / 2 ** 32) >>> 0;
  const init = splitmix32(low ^ Math.imul(high, 0x27d4eb2d) ^ Math.imul(stream + 1, 0x165667b1));
  let a = init(), b = init(), c = init(), d = init();
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
