/** Attention for one row and head in plain TypeScript, as the exported graphs compute it: the tests' reference. */

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
