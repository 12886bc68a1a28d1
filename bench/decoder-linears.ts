/**
 * What `npm run bench:gemm`'s timings of the decoder's linear layers (src/model/decoder-linears.ts) mean: the
 * arithmetic rate, the weight read rate. Pure, so the benchmark has a fast test.
 */
export interface GemmRate {
  /** Arithmetic rate: 2 flops per multiply–add. */
  readonly gflops: number;
  /** The weights' bytes read per second at the kernel's weight type (what bounds a step at few rows). */
  readonly weightGBps: number;
}

export function gemmRate(weights: number, rows: number, ms: number, bytesPerWeight: number): GemmRate {
  return { gflops: (2 * weights * rows) / ms / 1e6, weightGBps: (weights * bytesPerWeight) / ms / 1e6 };
}
