/**
 * Peak signal-to-noise ratio in dB, the peak being the reference's value range: how close two decodes of the same
 * codes are (tests and benchmarks of the VQGAN's variants).
 */
export function psnr(actual: Float32Array, reference: Float32Array): number {
  let squared = 0;
  let [lo, hi] = [Infinity, -Infinity];
  reference.forEach((r, i) => {
    squared += (actual[i]! - r) ** 2;
    lo = Math.min(lo, r);
    hi = Math.max(hi, r);
  });
  return 10 * Math.log10((hi - lo) ** 2 / (squared / reference.length));
}
