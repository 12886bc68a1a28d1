/**
 * Instant previews: every sampled code drawn as a flat block of its colour (the exporter's per-code
 * colour table, docs/model-format.md#preview-colours), painted over the last VQGAN preview as steps
 * go by. The worker sends only each step's codes (a few numbers); this painter runs where the images
 * are shown (the page), so no image crosses threads between VQGAN previews. Needs no runtime: the
 * page bundle may import it.
 */

/** Grey for slots not sampled yet. */
const UNSAMPLED = 128;

export class MosaicPreview {
  /** The drawing's images so far, by index in the request; undefined until a code or a preview reaches one. */
  private readonly images: (Uint8ClampedArray | undefined)[] = [];
  private readonly block: number;

  /**
   * @param colors RGB per code, 3 bytes each (the model folder's `preview.codeColors` file).
   * @param grid codes per side (16); `imageSize` pixels per side (256).
   */
  constructor(
    private readonly colors: Uint8Array,
    private readonly grid: number,
    private readonly imageSize: number,
  ) {
    this.block = imageSize / grid;
  }

  /**
   * Paints grid slot `slot` of images first, first + 1, … with one code each and returns those images. Each is a new
   * buffer: an image handed out earlier never changes, so a view holding it can tell old from new by reference.
   */
  paint(first: number, slot: number, codes: ArrayLike<number>): Uint8ClampedArray[] {
    const row = Math.floor(slot / this.grid);
    const column = slot % this.grid;
    return Array.from(codes, (code, k) => {
      const rgba = this.images[first + k]?.slice() ?? this.blank();
      const [r, g, b] = [this.colors[code * 3]!, this.colors[code * 3 + 1]!, this.colors[code * 3 + 2]!];
      for (let y = row * this.block; y < (row + 1) * this.block; y++) {
        for (let x = column * this.block; x < (column + 1) * this.block; x++) {
          const p = (y * this.imageSize + x) * 4;
          rgba[p] = r;
          rgba[p + 1] = g;
          rgba[p + 2] = b;
        }
      }
      this.images[first + k] = rgba;
      return rgba;
    });
  }

  /** A decoded (VQGAN) preview replaces image i; later codes paint over a copy of it. */
  replace(i: number, rgba: Uint8ClampedArray): void {
    this.images[i] = rgba;
  }

  private blank(): Uint8ClampedArray {
    const rgba = new Uint8ClampedArray(this.imageSize * this.imageSize * 4).fill(UNSAMPLED);
    for (let p = 3; p < rgba.length; p += 4) rgba[p] = 255;
    return rgba;
  }
}

/** The colour table's size for a codebook of `codes` entries. */
export function codeColorBytes(codes: number): number {
  return codes * 3;
}
