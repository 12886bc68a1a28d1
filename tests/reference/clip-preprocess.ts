/**
 * CLIPImageProcessor written plainly for the tests, independently of src/pipeline/clip/preprocess.ts:
 * float64 throughout, one output pixel at a time (no precomputed tap tables, no fixed point). The
 * resize follows Pillow's definition — antialiased Keys cubic (a = −0.5) whose support grows with
 * the downscale factor, sampled at pixel centres, weights normalised, horizontal pass then vertical,
 * each pass rounded and clipped to 8 bits — so it may differ from Pillow's 22-bit fixed point by one
 * level at most. Then centre crop, ×1/255, (x − mean) / std, channels first.
 */

function cubic(x: number): number {
  const t = Math.abs(x);
  if (t < 1) return 1.5 * t ** 3 - 2.5 * t ** 2 + 1;
  if (t < 2) return -0.5 * t ** 3 + 2.5 * t ** 2 - 4 * t + 2;
  return 0;
}

/** Resampled value at output position `out` of a line of `inSize` samples resized to `outSize`. */
function resampleLine(read: (i: number) => number, inSize: number, outSize: number, out: number): number {
  const scale = inSize / outSize;
  const widen = Math.max(1, scale);
  const center = (out + 0.5) * scale;
  let sum = 0;
  let weights = 0;
  for (let i = 0; i < inSize; i++) {
    // Sample i covers [i, i + 1); its centre is i + 0.5.
    const w = cubic((i + 0.5 - center) / widen);
    sum += read(i) * w;
    weights += w;
  }
  return Math.min(255, Math.max(0, Math.round(sum / weights)));
}

export function referenceClipPixels(
  rgba: Uint8ClampedArray,
  width: number,
  height: number,
  edge: number,
  crop: number,
  mean: readonly number[],
  std: readonly number[],
): Float64Array {
  const outW = width <= height ? edge : Math.trunc((edge * width) / height);
  const outH = width <= height ? Math.trunc((edge * height) / width) : edge;
  const at = (x: number, y: number, c: number): number => rgba[(y * width + x) * 4 + c]!;
  const horizontal = (x: number, y: number, c: number): number =>
    outW === width ? at(x, y, c) : resampleLine((i) => at(i, y, c), width, outW, x);
  const columns = new Float64Array(height * outW * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < outW; x++) for (let c = 0; c < 3; c++) columns[(y * outW + x) * 3 + c] = horizontal(x, y, c);
  const resized = (x: number, y: number, c: number): number =>
    outH === height
      ? columns[(y * outW + x) * 3 + c]!
      : resampleLine((i) => columns[(i * outW + x) * 3 + c]!, height, outH, y);
  const top = Math.floor((outH - crop) / 2);
  const left = Math.floor((outW - crop) / 2);
  const out = new Float64Array(3 * crop * crop);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < crop; y++)
      for (let x = 0; x < crop; x++)
        out[(c * crop + y) * crop + x] = (resized(x + left, y + top, c) / 255 - mean[c]!) / std[c]!;
  return out;
}
