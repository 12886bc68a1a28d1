/**
 * Next-token selection, pure and synchronous (spec §5): super-conditioning on the cond/uncond rows,
 * then temperature → top-k → top-p in the order of transformers' Flax warpers, sampling only over
 * the image codes 0 … codes − 1.
 */
import type { Rng } from './rng.ts';

export interface SamplingSettings {
  /** Super-conditioning scale s: logits = uncond + s · (cond − uncond). 1 turns it off. */
  readonly conditionScale: number;
  /** Keep the k most likely codes; 0 keeps all. */
  readonly topK: number;
  /** Keep the smallest set whose probability reaches p; 1 turns it off. */
  readonly topP: number;
  readonly temperature: number;
}

/** dalle-mini's notebook defaults (spec §5.1). */
export const DEFAULT_SAMPLING: SamplingSettings = { conditionScale: 10, topK: 50, topP: 1, temperature: 1 };

export class SamplingSettingsError extends Error {
  override name = 'SamplingSettingsError';
}

export function checkSamplingSettings(s: SamplingSettings): void {
  if (!(Number.isFinite(s.conditionScale) && s.conditionScale >= 0)) throw new SamplingSettingsError('condition scale must be a number ≥ 0');
  if (!(Number.isInteger(s.topK) && s.topK >= 0)) throw new SamplingSettingsError('top-k must be an integer ≥ 0 (0 = off)');
  if (!(s.topP > 0 && s.topP <= 1)) throw new SamplingSettingsError('top-p must be in (0, 1] (1 = off)');
  if (!(Number.isFinite(s.temperature) && s.temperature > 0)) throw new SamplingSettingsError('temperature must be > 0');
}

/**
 * Combines rows `i` (cond) and `n + i` (uncond) of `logits` [2n, vocab] into [n, codes].
 */
export function superCondition(logits: Float32Array, n: number, vocab: number, codes: number, scale: number): Float32Array {
  const out = new Float32Array(n * codes);
  for (let i = 0; i < n; i++) {
    const cond = i * vocab;
    const uncond = (n + i) * vocab;
    for (let j = 0; j < codes; j++) {
      const u = logits[uncond + j]!;
      out[i * codes + j] = u + scale * (logits[cond + j]! - u);
    }
  }
  return out;
}

/** Indices of the k largest values, largest first; ties go to the lower index. */
export function topKIndices(values: Float32Array, k: number): Int32Array {
  if (k >= values.length || k > 1024) {
    const all = Int32Array.from(values.keys()).sort((a, b) => values[b]! - values[a]! || a - b);
    return all.subarray(0, Math.min(k, values.length));
  }
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

/** Draws one index from `logits` after temperature, top-k and top-p. */
export function sampleFromLogits(logits: Float32Array, settings: SamplingSettings, rng: Rng): number {
  const k = settings.topK > 0 ? Math.min(settings.topK, logits.length) : logits.length;
  const candidates = topKIndices(logits, k);
  const max = logits[candidates[0]!]!;
  const weights = new Float64Array(candidates.length);
  let total = 0;
  for (let i = 0; i < candidates.length; i++) {
    weights[i] = Math.exp((logits[candidates[i]!]! - max) / settings.temperature);
    total += weights[i]!;
  }
  let kept = candidates.length;
  if (settings.topP < 1) {
    let cumulative = 0;
    for (let i = 0; i < candidates.length; i++) {
      cumulative += weights[i]! / total;
      if (cumulative >= settings.topP) {
        kept = i + 1;
        break;
      }
    }
    total = 0;
    for (let i = 0; i < kept; i++) total += weights[i]!;
  }
  let target = rng() * total;
  for (let i = 0; i < kept; i++) {
    target -= weights[i]!;
    if (target < 0) return candidates[i]!;
  }
  return candidates[kept - 1]!;
}

/** One decoder step's choice for each of the n images. */
export function sampleNextTokens(
  logits: Float32Array,
  n: number,
  vocab: number,
  codes: number,
  settings: SamplingSettings,
  rngs: readonly Rng[],
): Int32Array {
  const combined = superCondition(logits, n, vocab, codes, settings.conditionScale);
  const next = new Int32Array(n);
  for (let i = 0; i < n; i++) next[i] = sampleFromLogits(combined.subarray(i * codes, (i + 1) * codes), settings, rngs[i]!);
  return next;
}
