/**
 * Preview colours (docs/model-format.md#preview-colours): the colour each VQGAN code decodes to on
 * average, for mosaic previews. A ridge-regularised linear fit from a code's embedding (the codebook
 * row) to the mean colour of the patch it decodes to, over random code grids decoded by the exported
 * VQGAN graph; then applied to every code. Pure functions; code-colors-main.ts runs the graph.
 */
import { createRng } from '../../src/core/rng.ts';

/** The model folder's colour table: 3 bytes (RGB) per code. */
export const CODE_COLORS_FILE = 'preview-colors.bin';

/** Grids decoded for the fit: 4 × 256 patches for 257 unknowns per channel. */
export const FIT_IMAGES = 4;

/** Random codes [images, grid²] in 0 … codes − 1, the same for every export. */
export function fitCodes(images: number, cells: number, codes: number): Int32Array {
  const next = createRng(0, 0);
  return Int32Array.from({ length: images * cells }, () => Math.floor(next() * codes));
}

/** Mean of each grid cell's pixels, clipped to [0, 1] as images.ts does: [images·grid², channels]. */
export function patchMeans(
  pixels: Float32Array,
  images: number,
  channels: number,
  size: number,
  grid: number,
): Float64Array {
  const block = size / grid;
  const out = new Float64Array(images * grid * grid * channels);
  for (let n = 0; n < images; n++) {
    for (let c = 0; c < channels; c++) {
      const plane = (n * channels + c) * size * size;
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const cell = n * grid * grid + Math.floor(y / block) * grid + Math.floor(x / block);
          out[cell * channels + c]! += Math.min(1, Math.max(0, pixels[plane + y * size + x]!)) / (block * block);
        }
      }
    }
  }
  return out;
}

/** Solves (A + λI) x = b for symmetric positive A [m, m] by Gaussian elimination with partial pivoting. */
function solve(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const x = Float64Array.from(b);
  for (let col = 0; col < m; col++) {
    let pivot = col;
    for (let r = col + 1; r < m; r++) if (Math.abs(a[r * m + col]!) > Math.abs(a[pivot * m + col]!)) pivot = r;
    if (pivot !== col) {
      for (let k = 0; k < m; k++) [a[col * m + k], a[pivot * m + k]] = [a[pivot * m + k]!, a[col * m + k]!];
      [x[col], x[pivot]] = [x[pivot]!, x[col]!];
    }
    const d = a[col * m + col]!;
    for (let r = col + 1; r < m; r++) {
      const f = a[r * m + col]! / d;
      if (f === 0) continue;
      for (let k = col; k < m; k++) a[r * m + k]! -= f * a[col * m + k]!;
      x[r]! -= f * x[col]!;
    }
  }
  for (let r = m - 1; r >= 0; r--) {
    let sum = x[r]!;
    for (let k = r + 1; k < m; k++) sum -= a[r * m + k]! * x[k]!;
    x[r] = sum / a[r * m + r]!;
  }
  return x;
}

/**
 * RGB bytes per code [codes, 3] from the codebook [codes, dim], the codes decoded for the fit and
 * their patches' mean colours [samples, 3] in [0, 1].
 */
export function fitCodeColors(
  codebook: Float32Array,
  dim: number,
  sampleCodes: Int32Array,
  targets: Float64Array,
): Uint8Array {
  const m = dim + 1;
  const gram = new Float64Array(m * m);
  const rhs = [0, 1, 2].map(() => new Float64Array(m));
  const row = new Float64Array(m);
  sampleCodes.forEach((code, s) => {
    row.set(codebook.subarray(code * dim, (code + 1) * dim));
    row[dim] = 1;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) gram[i * m + j]! += row[i]! * row[j]!;
      for (let c = 0; c < 3; c++) rhs[c]![i]! += row[i]! * targets[s * 3 + c]!;
    }
  });
  let trace = 0;
  for (let i = 0; i < m; i++) trace += gram[i * m + i]!;
  const lambda = (1e-2 * trace) / m;
  for (let i = 0; i < dim; i++) gram[i * m + i]! += lambda;
  const weights = rhs.map((b) => solve(Float64Array.from(gram), b, m));
  const codes = codebook.length / dim;
  const out = new Uint8Array(codes * 3);
  for (let code = 0; code < codes; code++) {
    for (let c = 0; c < 3; c++) {
      const w = weights[c]!;
      let v = w[dim]!;
      for (let i = 0; i < dim; i++) v += w[i]! * codebook[code * dim + i]!;
      out[code * 3 + c] = Math.round(255 * Math.min(1, Math.max(0, v)));
    }
  }
  return out;
}
