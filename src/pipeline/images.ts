/**
 * VQGAN output → displayable pixels: clip to [0, 1], ×255, truncate
 * (docs/model-format.md#post-processing), as RGBA for canvases and PNGs.
 */
export function pixelsToRgba(pixels: Float32Array, index: number, imageSize: number): Uint8ClampedArray {
  const plane = imageSize * imageSize;
  const base = index * 3 * plane;
  const out = new Uint8ClampedArray(plane * 4);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      const v = pixels[base + c * plane + p]!;
      out[p * 4 + c] = Math.trunc((v < 0 ? 0 : v > 1 ? 1 : v) * 255);
    }
    out[p * 4 + 3] = 255;
  }
  return out;
}
