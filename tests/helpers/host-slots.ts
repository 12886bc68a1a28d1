/** The slot write the WebGPU shader does (src/worker/gpu-cache-slots.ts), on host tensors, for Node tests. */
import type { CacheSlotWriter } from '../../src/pipeline/decoder-run.ts';

/** Writes each layer's new slot into its float32 caches: keys [B, H, hd, S], values [B, H, S, hd]. */
export const hostSlotWriter: CacheSlotWriter = (layers, position) => {
  for (const { newKey, newValue, pastKey, pastValue } of layers) {
    const [, , hd, S] = pastKey.dims as [number, number, number, number];
    const [k, v] = [newKey.data as Float32Array, newValue.data as Float32Array];
    const [keys, values] = [pastKey.data as Float32Array, pastValue.data as Float32Array];
    for (let i = 0; i < k.length; i++) keys[i * S + position] = k[i]!;
    for (let i = 0; i < v.length; i++) values[(Math.floor(i / hd) * S + position) * hd + (i % hd)] = v[i]!;
  }
  return Promise.resolve();
};
