/**
 * CLIPImageProcessor in plain TypeScript, the same in the worker, the CLI and Node tests: resize
 * the shorter side to 224 with PIL's bicubic filter, centre-crop 224×224, rescale by 1/255 and
 * normalise with CLIP's mean and std, channels first.
 *
 * The resize reproduces Pillow's `Image.resize(…, BICUBIC)` on 8-bit images, which the Python
 * processor calls: a separable filter (horizontal pass, then vertical) whose support widens with
 * the downscale factor (antialiasing), coefficients in 22-bit fixed point, each pass rounded and
 * clipped to 0 … 255. transformers.js' own processor resizes with a canvas in browsers and with
 * sharp in Node, which differ from Pillow and from each other, so the ranker does not use it.
 */
import type { ClipImageSettings } from './image-settings.ts';

/** Pillow's fixed-point precision for 8-bit images (Resample.c: 32 − 8 − 2). */
const PRECISION_BITS = 22;
const ONE = 2 ** PRECISION_BITS;

/** Keys' cubic with a = −0.5, Pillow's `bicubic_filter`. */
function bicubic(x: number): number {
  const a = -0.5;
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

interface Taps {
  /** First input index of each output sample. */
  readonly first: Int32Array;
  /** Tap count of each output sample. */
  readonly count: Int32Array;
  /** Fixed-point weights, `stride` per output sample. */
  readonly weights: Int32Array;
  readonly stride: number;
}

/** Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for resizing `inSize` samples to `outSize`. */
function taps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 2 * filterScale;
  const stride = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * stride);
  const raw = new Float64Array(stride);
  for (let out = 0; out < outSize; out++) {
    const center = (out + 0.5) * scale;
    // C casts truncate towards zero; both values are ≥ −0.5 + 0.5 here, so trunc = floor.
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const n = Math.min(Math.trunc(center + support + 0.5), inSize) - lo;
    let total = 0;
    for (let i = 0; i < n; i++) total += raw[i] = bicubic((i + lo - center + 0.5) / filterScale);
    first[out] = lo;
    count[out] = n;
    for (let i = 0; i < n; i++) {
      const w = total === 0 ? raw[i]! : raw[i]! / total;
      weights[out * stride + i] = Math.trunc(w < 0 ? -0.5 + w * ONE : 0.5 + w * ONE);
    }
  }
  return { first, count, weights, stride };
}

/** Pillow's `clip8`: the fixed-point sum back to 0 … 255 (arithmetic shift, then clamp). */
function clip8(sum: number): number {
  const v = Math.floor(sum / ONE);
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Resizes 3-channel interleaved 8-bit pixels [h, w, 3] to [outH, outW, 3] as Pillow's bicubic does. */
export function resizeBicubicRgb(
  pixels: Uint8Array,
  width: number,
  height: number,
  outWidth: number,
  outHeight: number,
): Uint8Array {
  let rows = pixels;
  let w = width;
  if (outWidth !== width) {
    const t = taps(width, outWidth);
    rows = new Uint8Array(height * outWidth * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < outWidth; x++) {
        for (let c = 0; c < 3; c++) {
          let sum = ONE / 2;
          for (let i = 0; i < t.count[x]!; i++)
            sum += pixels[(y * width + t.first[x]! + i) * 3 + c]! * t.weights[x * t.stride + i]!;
          rows[(y * outWidth + x) * 3 + c] = clip8(sum);
        }
      }
    }
    w = outWidth;
  }
  if (outHeight === height) return rows;
  const t = taps(height, outHeight);
  const out = new Uint8Array(outHeight * w * 3);
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = ONE / 2;
        for (let i = 0; i < t.count[y]!; i++)
          sum += rows[((t.first[y]! + i) * w + x) * 3 + c]! * t.weights[y * t.stride + i]!;
        out[(y * w + x) * 3 + c] = clip8(sum);
      }
    }
  }
  return out;
}

/** The processor's output size for the resize: shorter side to `edge`, the longer one scaled and truncated. */
export function resizedSize(width: number, height: number, edge: number): { width: number; height: number } {
  if (width <= height) return { width: edge, height: Math.trunc((edge * height) / width) };
  return { width: Math.trunc((edge * width) / height), height: edge };
}

/**
 * One RGBA image (alpha ignored, as `convert("RGB")` on an opaque image) → CLIP's pixel_values for
 * it, [3, cropHeight, cropWidth] float32, channels first.
 */
export function preprocessClipImage(
  rgba: Uint8ClampedArray,
  width: number,
  height: number,
  settings: ClipImageSettings,
): Float32Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    rgb[p * 3] = rgba[p * 4]!;
    rgb[p * 3 + 1] = rgba[p * 4 + 1]!;
    rgb[p * 3 + 2] = rgba[p * 4 + 2]!;
  }
  const size = resizedSize(width, height, settings.shortestEdge);
  const resized = resizeBicubicRgb(rgb, width, height, size.width, size.height);
  const { cropWidth, cropHeight } = settings;
  // transformers' center_crop: top/left = (size − crop) // 2; a crop larger than the image is padded with 0.
  const top = Math.floor((size.height - cropHeight) / 2);
  const left = Math.floor((size.width - cropWidth) / 2);
  const out = new Float32Array(3 * cropHeight * cropWidth);
  for (let c = 0; c < 3; c++) {
    const mean = settings.mean[c]!;
    const std = settings.std[c]!;
    for (let y = 0; y < cropHeight; y++) {
      for (let x = 0; x < cropWidth; x++) {
        const sy = y + top;
        const sx = x + left;
        const inside = sy >= 0 && sy < size.height && sx >= 0 && sx < size.width;
        const value = inside ? resized[(sy * size.width + sx) * 3 + c]! : 0;
        out[(c * cropHeight + y) * cropWidth + x] = (value * settings.rescaleFactor - mean) / std;
      }
    }
  }
  return out;
}
