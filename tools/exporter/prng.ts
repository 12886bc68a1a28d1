/** Seeded randomness for synthetic checkpoints: one independent stream per tensor path. */

/** FNV-1a over the seed and a string, so each tensor's values do not depend on write order. */
export function streamSeed(seed: number, key: string): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Fills `out` with N(mean, std) values from a splitmix32-driven Box–Muller transform. */
export function fillNormal(out: Float32Array, seed: number, mean: number, std: number): Float32Array {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
  for (let i = 0; i < out.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - next()));
    const theta = 2 * Math.PI * next();
    out[i] = mean + std * r * Math.cos(theta);
    if (i + 1 < out.length) out[i + 1] = mean + std * r * Math.sin(theta);
  }
  return out;
}
