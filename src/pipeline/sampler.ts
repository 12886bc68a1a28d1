/**
 * Next-token selection, pure and synchronous (docs/model-format.md#sampling): super-conditioning on
 * the cond/uncond rows, then temperature → top-k → top-p in the order of transformers' Flax
 * warpers, sampling only over the image codes 0 … codes − 1.
 */
import { ExpectedError } from '../core/expected-error.ts';
import type { Rng } from '../core/rng.ts';

export interface SamplingSettings {
  /** Super-conditioning scale s: logits = uncond + s · (cond − uncond). 1 turns it off. */
  readonly conditionScale: number;
  /** Keep the k most likely codes; 0 keeps all. */
  readonly topK: number;
  /** Keep the smallest set whose probability reaches p; 1 turns it off. */
  readonly topP: number;
  readonly temperature: number;
}

/** dalle-mini's notebook defaults (docs/model-format.md#sampling). */
export const DEFAULT_SAMPLING: SamplingSettings = { conditionScale: 10, topK: 50, topP: 1, temperature: 1 };

export class SamplingSettingsError extends ExpectedError {
  override name = 'SamplingSettingsError';
}

/**
 * Logits that are NaN or ±Infinity: no distribution to sample from. Left alone, every comparison
 * with NaN fails and the last code (16383) would be drawn at every step.
 */
export class NonFiniteLogitsError extends ExpectedError {
  override name = 'NonFiniteLogitsError';
}

/** Index of the first NaN or ±Infinity in `values[from … to)`, or −1. */
function firstNonFinite(values: Float32Array, from = 0, to = values.length): number {
  for (let j = from; j < to; j++) if (!Number.isFinite(values[j]!)) return j;
  return -1;
}

export function checkSamplingSettings(s: SamplingSettings): void {
  if (!(Number.isFinite(s.conditionScale) && s.conditionScale >= 0))
    throw new SamplingSettingsError('condition scale must be a number ≥ 0');
  if (!(Number.isInteger(s.topK) && s.topK >= 0))
    throw new SamplingSettingsError('top-k must be an integer ≥ 0 (0 = off)');
  if (!(s.topP > 0 && s.topP <= 1)) throw new SamplingSettingsError('top-p must be in (0, 1] (1 = off)');
  if (!(Number.isFinite(s.temperature) && s.temperature > 0))
    throw new SamplingSettingsError('temperature must be > 0');
}

/** One super-conditioned logit, in double: superCondition stores it into float32 (Math.fround gives the same). */
export function superConditioned(cond: number, uncond: number, scale: number): number {
  return uncond + scale * (cond - uncond);
}

/**
 * Combines rows `i` (cond) and `n + i` (uncond) of `logits` [2n, vocab] into [n, codeCount].
 */
export function superCondition(
  logits: Float32Array,
  n: number,
  vocab: number,
  codeCount: number,
  scale: number,
): Float32Array {
  const out = new Float32Array(n * codeCount);
  for (let i = 0; i < n; i++) {
    const cond = i * vocab;
    const uncond = (n + i) * vocab;
    for (let j = 0; j < codeCount; j++) {
      out[i * codeCount + j] = superConditioned(logits[cond + j]!, logits[uncond + j]!, scale);
    }
  }
  return out;
}

/** Indices of the k largest values, largest first; ties go to the lower index. */
export function topKIndices(values: Float32Array, k: number): Int32Array {
  if (k > 1024) return indicesAtLeast(values, sortedCopy(values)[values.length - k]!).subarray(0, k);
  // Insertion into a short sorted list: O(V) when most values fall below the current k-th.
  const idx = new Int32Array(k);
  let size = 0;
  for (let j = 0; j < values.length; j++) {
    const v = values[j]!;
    if (size === k && v <= values[idx[k - 1]!]!) continue;
    let pos = size < k ? size++ : k - 1;
    while (pos > 0 && values[idx[pos - 1]!]! < v) {
      idx[pos] = idx[pos - 1]!;
      pos--;
    }
    idx[pos] = j;
  }
  return idx;
}

/** Ascending copy by the native numeric sort (no comparator callbacks: ~50× faster at 16384 values). */
function sortedCopy(values: Float32Array): Float32Array {
  return Float32Array.from(values).sort();
}

/** Indices of values ≥ threshold, largest first, ties to the lower index. */
function indicesAtLeast(values: Float32Array, threshold: number): Int32Array {
  const picked: number[] = [];
  for (let j = 0; j < values.length; j++) if (values[j]! >= threshold) picked.push(j);
  return Int32Array.from(picked.sort((a, b) => values[b]! - values[a]! || a - b));
}

/** Draws from softmax(logits / T) over all entries in one pass (walking in index order): nothing to sort. */
function sampleUnfiltered(logits: Float32Array, temperature: number, rng: Rng): number {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let total = 0;
  for (const v of logits) total += Math.exp((v - max) / temperature);
  let target = rng() * total;
  for (let j = 0; j < logits.length; j++) {
    target -= Math.exp((logits[j]! - max) / temperature);
    if (target < 0) return j;
  }
  return logits.length - 1;
}

/** How many of `sorted` (largest first, via `at(i)`) form the smallest prefix whose softmax mass reaches p. */
function topPCount(count: number, at: (i: number) => number, temperature: number, topP: number): number {
  if (topP >= 1) return count;
  const max = at(0);
  let total = 0;
  for (let i = 0; i < count; i++) total += Math.exp((at(i) - max) / temperature);
  let cumulative = 0;
  for (let i = 0; i < count; i++) {
    cumulative += Math.exp((at(i) - max) / temperature) / total;
    if (cumulative >= topP) return i + 1;
  }
  return count;
}

/**
 * The candidates top-k then top-p keep, largest first (ties to the lower index). Small k: insertion
 * selection. Large or no k: the cut-offs come from one native sort of the values, and only the
 * kept indices are ordered.
 */
function candidatesFor(logits: Float32Array, k: number, settings: SamplingSettings): Int32Array {
  if (k <= 1024) {
    const top = topKIndices(logits, k);
    return top.subarray(
      0,
      topPCount(top.length, (i) => logits[top[i]!]!, settings.temperature, settings.topP),
    );
  }
  const sorted = sortedCopy(logits);
  const last = sorted.length - 1;
  const count = topPCount(k, (i) => sorted[last - i]!, settings.temperature, settings.topP);
  return indicesAtLeast(logits, sorted[last - count + 1]!).subarray(0, count);
}

/** Draws one index from `logits` after temperature, top-k and top-p. */
export function sampleFromLogits(logits: Float32Array, settings: SamplingSettings, rng: Rng): number {
  const bad = firstNonFinite(logits);
  if (bad !== -1) {
    throw new NonFiniteLogitsError(
      `logit ${bad} is ${logits[bad]}, so no code can be drawn; where the model's own logits are finite, the condition scale ${settings.conditionScale} is too large: lower it`,
    );
  }
  const k = settings.topK > 0 ? Math.min(settings.topK, logits.length) : logits.length;
  if (k === logits.length && settings.topP >= 1) return sampleUnfiltered(logits, settings.temperature, rng);
  const candidates = candidatesFor(logits, k, settings);
  return candidates[drawSorted(candidates.length, (i) => logits[candidates[i]!]!, settings.temperature, rng)]!;
}

/**
 * Top-p and the draw over candidates already cut to the top k (`sorted`, largest first, ties to the lower index):
 * the position of the drawn one. What sampleFromLogits does after its top-k, for candidates chosen elsewhere
 * (the GPU, src/pipeline/device-candidates.ts), so both draw the same code from the same values.
 */
export function drawFromTopK(sorted: Float32Array, settings: SamplingSettings, rng: Rng): number {
  const count = topPCount(sorted.length, (i) => sorted[i]!, settings.temperature, settings.topP);
  return drawSorted(count, (i) => sorted[i]!, settings.temperature, rng);
}

/** Draws a position from softmax(value / T) over `count` values, largest first (one uniform draw). */
function drawSorted(count: number, valueAt: (i: number) => number, temperature: number, rng: Rng): number {
  const max = valueAt(0);
  const weights = new Float64Array(count);
  let total = 0;
  for (let i = 0; i < count; i++) {
    weights[i] = Math.exp((valueAt(i) - max) / temperature);
    total += weights[i]!;
  }
  let target = rng() * total;
  for (let i = 0; i < count; i++) {
    target -= weights[i]!;
    if (target < 0) return i;
  }
  return count - 1;
}

/** Each of the n images' next code from one step's logits (rows `vocab` apart, codes 0 … codeCount − 1 drawn). */
export type TokenSampler = (
  logits: Float32Array,
  n: number,
  vocab: number,
  codeCount: number,
  settings: SamplingSettings,
  rngs: readonly Rng[],
) => Int32Array;

/** One decoder step's choice for each of the n images. */
export const sampleNextTokens: TokenSampler = (logits, n, vocab, codeCount, settings, rngs) => {
  for (let row = 0; row < 2 * n; row++) {
    const bad = firstNonFinite(logits, row * vocab, row * vocab + codeCount);
    if (bad === -1) continue;
    const image = row % n;
    const which = row < n ? 'prompt' : 'unconditional';
    throw new NonFiniteLogitsError(
      `the decoder returned ${logits[bad]} for code ${bad - row * vocab} of image ${image} (${which} row): the model's weights are broken or its float16 range overflowed. Re-export the model (fp32 or q8), or use the WASM backend`,
    );
  }
  const combined = superCondition(logits, n, vocab, codeCount, settings.conditionScale);
  return sampleGuidedTokens(combined, n, codeCount, codeCount, settings, rngs);
};

/**
 * sampleNextTokens for logits already super-conditioned with `settings.conditionScale` ([n, vocab]: the decoder mixed
 * the rows before its LM head, DalleEngine.beginDecoding's `guidance`): image i's code from the first codeCount
 * entries of row i, the same draws from the same values.
 */
export const sampleGuidedTokens: TokenSampler = (logits, n, vocab, codeCount, settings, rngs) => {
  const next = new Int32Array(n);
  for (let i = 0; i < n; i++)
    next[i] = sampleFromLogits(logits.subarray(i * vocab, i * vocab + codeCount), settings, rngs[i]!);
  return next;
};
