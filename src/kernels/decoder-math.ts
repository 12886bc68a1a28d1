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

/**
 * Keys [hd, slots] and values [slots, hd] of one row and head, both starting at `base` of their arrays. Columns are
 * visible below `visible`, or where `mask[maskBase + j]` is 1.
 */
export interface AttentionSource {
  readonly keys: Float32Array;
  readonly values: Float32Array;
  readonly base: number;
  readonly slots: number;
  readonly visible?: number;
  readonly mask?: ArrayLike<number>;
  readonly maskBase?: number;
}

/**
 * softmax(scale · q·K (+ q·kNew)) · [V; vNew] for one query row and head into `out` [hd]. Hidden columns get no weight
 * (the graphs add the float32 minimum, which softmax turns into 0); with none visible every column weighs the same, as
 * they do there.
 */
export function attendRow(
  q: Float32Array,
  scale: number,
  source: AttentionSource,
  extra: { readonly key: Float32Array; readonly value: Float32Array } | null,
  out: Float32Array,
): void {
  const { keys, values, base, slots } = source;
  const hd = q.length;
  const isVisible = (j: number): boolean =>
    source.mask ? source.mask[(source.maskBase ?? 0) + j] === 1 : j < (source.visible ?? slots);
  const scores = new Float64Array(slots + 1);
  let any = extra !== null;
  let max = -Infinity;
  for (let j = 0; j < slots; j++) {
    if (!isVisible(j)) {
      scores[j] = NaN;
      continue;
    }
    any = true;
    let s = 0;
    for (let c = 0; c < hd; c++) s += q[c]! * keys[base + c * slots + j]!;
    scores[j] = s * scale;
    max = Math.max(max, scores[j]!);
  }
  if (extra) {
    let s = 0;
    for (let c = 0; c < hd; c++) s += q[c]! * extra.key[c]!;
    scores[slots] = s * scale;
    max = Math.max(max, scores[slots]);
  }
  // Softmax weights in place of the scores; the extra column (if any) is always visible.
  let total = 0;
  for (let j = 0; j < slots; j++) {
    if (!any) scores[j] = 1;
    else scores[j] = isVisible(j) ? Math.exp(scores[j]! - max) : 0;
    total += scores[j]!;
  }
  const newWeight = extra ? Math.exp(scores[slots]! - max) : 0;
  total += newWeight;
  out.fill(0);
  for (let j = 0; j < slots; j++) {
    const p = scores[j]! / total;
    if (p === 0) continue;
    const row = base + j * hd;
    for (let c = 0; c < hd; c++) out[c] = out[c]! + p * values[row + c]!;
  }
  if (extra) {
    const p = newWeight / total;
    for (let c = 0; c < hd; c++) out[c] = out[c]! + p * extra.value[c]!;
  }
}
