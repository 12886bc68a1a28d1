/** The decoder step's small operations in plain TypeScript, as ONNX Runtime computes them in the exporter's graph. */

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

/**
 * erf by Numerical Recipes' Chebyshev fit of erfc (fractional error < 1.2e-7): JavaScript has no Math.erf, and GELU is
 * the exact-erf one in the exported graphs.
 */
export function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const erfc =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - erfc : erfc - 1;
}

/** GELU(x) = x/2 · (1 + erf(x/√2)), in place. */
export function gelu(x: Float32Array): Float32Array {
  for (let i = 0; i < x.length; i++) x[i] = 0.5 * x[i]! * (1 + erf(x[i]! / Math.SQRT2));
  return x;
}
