/**
 * Instant previews: every sampled code drawn as a flat block of its colour (the exporter's per-code
 * colour table, docs/model-format.md#preview-colours), painted over the last VQGAN preview as steps
 * go by. Costs a few microseconds per step, so the page shows something from the first step on.
 */

/** Grey for slots not sampled yet. */
const UNSAMPLED = 128;

export class MosaicPreview {
  private readonly images: Uint8ClampedArray[];
  private readonly block: number;

  /**
   * @param colors RGB per code, 3 bytes each (the model folder's `preview.codeColors` file).
   * @param grid codes per side (16); `imageSize` pixels per side (256).
   */
  constructor(
    private readonly colors: Uint8Array,
    count: number,
    private readonly grid: number,
    private readonly imageSize: number,
  ) {
    this.block = imageSize / grid;
    this.images = Array.from({ length: count }, () => {
      const rgba = new Uint8ClampedArray(imageSize * imageSize * 4).fill(UNSAMPLED);
      for (let p = 3; p < rgba.length; p += 4) rgba[p] = 255;
      return rgba;
    });
  }

  /** Paints slot `slot` of every image from `codes` ([n, grid²], as the engine reports them). */
  paint(codes: Int32Array, slot: number): void {
    const cells = this.grid * this.grid;
    const row = Math.floor(slot / this.grid);
    const column = slot % this.grid;
    this.images.forEach((rgba, i) => {
      const code = codes[i * cells + slot]!;
      const [r, g, b] = [this.colors[code * 3]!, this.colors[code * 3 + 1]!, this.colors[code * 3 + 2]!];
      for (let y = row * this.block; y < (row + 1) * this.block; y++) {
        for (let x = column * this.block; x < (column + 1) * this.block; x++) {
          const p = (y * this.imageSize + x) * 4;
          rgba[p] = r;
          rgba[p + 1] = g;
          rgba[p + 2] = b;
        }
      }
    });
  }

  /** A decoded (VQGAN) preview replaces image i; later steps paint over it. */
  replace(i: number, rgba: Uint8ClampedArray): void {
    this.images[i]!.set(rgba);
  }

  /** Copies of the current images, safe to transfer to another thread. */
  snapshot(): Uint8ClampedArray[] {
    return this.images.map((rgba) => rgba.slice());
  }
}

/** The colour table's size for a codebook of `codes` entries. */
export function codeColorBytes(codes: number): number {
  return codes * 3;
}
