/**
 * The decoder step's small operations in plain TypeScript, as ONNX Runtime computes them in the exporter's graph (the
 * GLU's GELU runs in row-kernels.ts).
 */

/** LayerNormalization over rows of `width` (mean and variance in float64; ONNX Runtime's stash type is float32). */
export function layerNorm(
  x: Float32Array,
  width: number,
  scale: Float32Array,
  bias: Float32Array,
  eps: number,
): Float32Array {
  const out = new Float32Array(x.length);
  for (let row = 0; row < x.length; row += width) {
    let mean = 0;
    for (let c = 0; c < width; c++) mean += x[row + c]!;
    mean /= width;
    let variance = 0;
    for (let c = 0; c < width; c++) variance += (x[row + c]! - mean) ** 2;
    const inv = 1 / Math.sqrt(variance / width + eps);
    for (let c = 0; c < width; c++) out[row + c] = (x[row + c]! - mean) * inv * scale[c]! + bias[c]!;
  }
  return out;
}

export function addInPlace(into: Float32Array, x: Float32Array): void {
  for (let i = 0; i < into.length; i++) into[i] = into[i]! + x[i]!;
}
