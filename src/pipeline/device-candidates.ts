/**
 * Sampling with the logits left on the GPU (WebGPU, docs/model-format.md#sampling-on-the-gpu): a shader
 * (src/worker/gpu-candidates.ts) cuts each image's two logit rows down to a few dozen candidates, a few KB instead
 * of the [2n, V] logits (1.2 MB at 9 images), and the CPU draws from them with the sampler's own arithmetic, so
 * each image gets the code sampleNextTokens would draw from the whole logits.
 *
 * Why that is exact: the shader super-conditions in float32 (three roundings, where the CPU rounds once from
 * double), so it may order near-ties differently. It therefore returns every code whose float32 value reaches its
 * `keep`-th largest (a few more than top-k), with the raw cond and uncond logits; the CPU recomputes their values
 * exactly, takes its top k, and accepts them only when the k-th lies above the shader's threshold by more than
 * float32 rounding can move any value (`marginAbove`): then no code left on the GPU can be in the top k. Otherwise
 * (a near-tie at the cut, non-finite or huge logits, top-k off or large, a GPU error) the step reads the whole
 * logits and samples on the CPU as before, which also raises the sampler's errors.
 */
import type { Rng } from '../core/rng.ts';
import { drawFromTopK, superConditioned } from './sampler.ts';
import type { SamplingSettings } from './sampler.ts';
import type { Tensor } from './runtime.ts';

/** Words before an image's candidates: how many codes reached the threshold, flags, threshold key, magnitude. */
export const BLOCK_HEADER = 4;
/** Words per candidate: code, cond logit bits, uncond logit bits. */
export const CANDIDATE_WORDS = 3;
/** Flag bit: a cond, uncond or super-conditioned logit of the image is NaN or ±Infinity. */
export const NON_FINITE = 1;
/** Flag bit: a logit of the image is so large (|x| ≥ CandidateLayout.limit) that float32 arithmetic could overflow. */
export const OUT_OF_RANGE = 2;
/** Larger top-k (or none) is sampled on the CPU: the shader's selection is made for short lists. */
export const MAX_DEVICE_TOP_K = 256;
/** Codes kept beyond k, so that a near-tie at the k-th rarely sends the step back to the CPU. */
const EXTRA_KEPT = 8;
/** Room for codes tied with the threshold beyond `keep`. */
const EXTRA_CAPACITY = 56;

/** What the shader is asked for one step; also the layout of its answer (blockWords per image). */
export interface CandidateLayout {
  readonly images: number;
  /** Logits per row (the image vocabulary plus the start token). */
  readonly vocab: number;
  /** Codes that can be drawn: the first codeCount logits of each row. */
  readonly codeCount: number;
  readonly conditionScale: number;
  /** The shader returns every code whose value reaches the keep-th largest. */
  readonly keep: number;
  /** Candidate slots per image; more codes than this (ties at the threshold) send the step to the CPU. */
  readonly capacity: number;
  /**
   * Logits at least this large in magnitude flag the image OUT_OF_RANGE: below it no intermediate of
   * u + s·(c − u) (in whatever order a GPU compiler evaluates it) exceeds 2¹²⁰, so none overflows.
   */
  readonly limit: number;
}

/**
 * Reads the decoder's logits [2n, vocab] where they are and returns each image's block (blockWords words: the
 * header, then `capacity` candidates), or null when it cannot (the tensor is not on its GPU).
 */
export type CandidateSelector = (logits: Tensor, layout: CandidateLayout) => Promise<Uint32Array | null>;

export function blockWords(layout: CandidateLayout): number {
  return BLOCK_HEADER + CANDIDATE_WORDS * layout.capacity;
}

/** The shader's request for these settings, or null when top-k is off or too large for it. */
export function candidateLayout(
  images: number,
  vocab: number,
  codeCount: number,
  settings: SamplingSettings,
): CandidateLayout | null {
  const k = settings.topK;
  // Top-k off (or covering every code) samples without sorting on the CPU: nothing to cut down.
  if (k <= 0 || k > MAX_DEVICE_TOP_K || k >= codeCount) return null;
  const keep = Math.min(codeCount, k + EXTRA_KEPT);
  return {
    images,
    vocab,
    codeCount,
    conditionScale: settings.conditionScale,
    keep,
    capacity: Math.min(codeCount, keep + EXTRA_CAPACITY),
    limit: 2 ** 120 / (1 + 2 * settings.conditionScale),
  };
}

const scratch = new DataView(new ArrayBuffer(4));

/** A float32's bits as a uint32 that orders like the float (negative values reversed below the positive ones). */
export function orderKey(value: number): number {
  scratch.setFloat32(0, value, true);
  const bits = scratch.getUint32(0, true);
  return (bits & 0x80000000 ? ~bits : bits ^ 0x80000000) >>> 0;
}

/** The float32 an orderKey came from. */
export function keyValue(key: number): number {
  scratch.setUint32(0, key & 0x80000000 ? key ^ 0x80000000 : ~key >>> 0, true);
  return scratch.getFloat32(0, true);
}

/**
 * How far above the threshold the k-th value must lie. `magnitude` is the row's largest |u| + s·(|c| + |u|), which
 * bounds every intermediate of u + s·(c − u) and of the rearrangements a GPU compiler may make of it (such as
 * (1 − s)·u + s·c). Each of at most five float32 roundings there (the scale's included; WGSL allows either
 * neighbour, 2⁻²³ relative) and the CPU's own rounding to float32 move a value by at most 2⁻²³ · magnitude, under
 * 2⁻²⁰·⁵ · magnitude in all: 2⁻¹⁹ is ≈ 3 times that. The second term covers subnormal results a GPU may flush to
 * zero, the product's scaled by s.
 */
export function marginAbove(magnitude: number, conditionScale: number): number {
  return magnitude * 2 ** -19 + (1 + 2 * conditionScale) * 2 ** -125;
}

/** One image's top k (values largest first, ties to the lower code) from its block, or null if not certain. */
export function topKFromBlock(
  words: Uint32Array,
  image: number,
  layout: CandidateLayout,
  k: number,
): { values: Float32Array; codes: Int32Array } | null {
  const floats = new Float32Array(words.buffer, words.byteOffset, words.length);
  const start = image * blockWords(layout);
  const count = words[start]!;
  const magnitude = floats[start + 3]!;
  // Flags (NON_FINITE, OUT_OF_RANGE) leave the step to the CPU, which names bad logits; so does a magnitude that
  // is not finite and comfortably below float32's range, whatever the GPU made of it.
  if (words[start + 1]! !== 0 || !(magnitude < 2 ** 126) || count > layout.capacity || count < k) return null;
  const values = new Float64Array(count);
  const codes = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const at = start + BLOCK_HEADER + CANDIDATE_WORDS * i;
    codes[i] = words[at]!;
    values[i] = Math.fround(superConditioned(floats[at + 1]!, floats[at + 2]!, layout.conditionScale));
    if (codes[i]! >= layout.codeCount || !Number.isFinite(values[i])) return null;
  }
  const order = Array.from(codes.keys()).sort((a, b) => values[b]! - values[a]! || codes[a]! - codes[b]!);
  const kth = values[order[k - 1]!]!;
  if (!(kth > keyValue(words[start + 2]!) + marginAbove(magnitude, layout.conditionScale))) return null;
  const top = order.slice(0, k);
  return { values: Float32Array.from(top, (i) => values[i]!), codes: Int32Array.from(top, (i) => codes[i]!) };
}

/**
 * One step's codes for the n images from the selector's candidates, drawing from each image's rng as
 * sampleNextTokens does; null (no rng touched) when the step must sample from the whole logits instead.
 */
export async function sampleNextTokensOnDevice(
  select: CandidateSelector,
  logits: Tensor,
  layout: CandidateLayout,
  settings: SamplingSettings,
  rngs: readonly Rng[],
): Promise<Int32Array | null> {
  const words = await select(logits, layout);
  if (!words) return null;
  const tops = [];
  for (let i = 0; i < layout.images; i++) {
    const top = topKFromBlock(words, i, layout, settings.topK);
    if (!top) return null;
    tops.push(top);
  }
  return Int32Array.from(tops, (top, i) => top.codes[drawFromTopK(top.values, settings, rngs[i]!)]!);
}
