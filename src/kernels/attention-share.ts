/**
 * One thread's share of an attention call (attention.ts): for its (row, head) pairs, q·K on the `scores` kernel, the
 * softmax (its exponentials on the `exp` kernel), p·V on the `weighted` kernel, the step's own slot added. Everything
 * it reads and writes is in the kernels' memory at offsets passed as integers, so a helper thread (gemm-threads.ts)
 * runs the same code on its own share as the caller does on share 0.
 */
import { SCORE_BLOCK } from './attention-kernel.ts';
import { padTo } from './int8-gemm-kernel.ts';

/** The attention call's integer arguments, in order (byte offsets end in `At`; 0 for `maskAt`/`extraAt`: none). */
export const ATTENTION_PARAMS = [
  'queryAt',
  'keysAt',
  'valuesAt',
  'stride',
  'count',
  'slots',
  'maskAt',
  'extraKeysAt',
  'extraValuesAt',
  'outAt',
  'scratchAt',
  'rows',
  'heads',
  'hd',
  'rowsPerGroup',
  'scaleLow',
  'scaleHigh',
] as const;

export type AttentionArgs = Record<(typeof ATTENTION_PARAMS)[number], number>;

type Kernel = (...args: number[]) => void;
export interface AttentionKernels {
  readonly scores: Kernel;
  readonly weighted: Kernel;
  readonly exp: Kernel;
}

/** Floats of one thread's scratch: scores, probabilities, the exp kernel's two parameters (in a vector's room). */
export const attentionScratchFloats = (slots: number): number => 2 * padTo(slots + SCORE_BLOCK, 16) + 4;

const scaleWords = new Int32Array(2);
const scaleValue = new Float64Array(scaleWords.buffer);

/** The arguments as the integers a call carries (the float64 scale as two words). */
export function packAttentionArgs(args: Omit<AttentionArgs, 'scaleLow' | 'scaleHigh'>, scale: number): number[] {
  scaleValue[0] = scale;
  const all: AttentionArgs = { ...args, scaleLow: scaleWords[0]!, scaleHigh: scaleWords[1]! };
  return ATTENTION_PARAMS.map((name) => all[name]);
}

/** Pairs [from, to) of share `share` out of `threads`. */
export function sharePairs(pairs: number, share: number, threads: number): [number, number] {
  return [Math.floor((share * pairs) / threads), Math.floor(((share + 1) * pairs) / threads)];
}

export function attendShare(
  kernels: AttentionKernels,
  memory: WebAssembly.Memory,
  packed: readonly number[],
  share: number,
  threads: number,
): void {
  const a = Object.fromEntries(ATTENTION_PARAMS.map((name, i) => [name, packed[i]!])) as AttentionArgs;
  scaleWords.set([a.scaleLow, a.scaleHigh]);
  const scale = scaleValue[0]!;
  const { hd, heads, count, stride } = a;
  const block = padTo(a.slots + SCORE_BLOCK, 16);
  const scoresAt = a.scratchAt + 4 * share * attentionScratchFloats(a.slots);
  const probsAt = scoresAt + 4 * block;
  const paramsAt = probsAt + 4 * block;
  const [from, to] = sharePairs(a.rows * heads, share, threads);
  for (let pair = from; pair < to; pair++) {
    const r = Math.floor(pair / heads);
    const h = pair % heads;
    const group = Math.floor(r / a.rowsPerGroup);
    const at = (r * heads + h) * hd;
    const kv = (group * heads + h) * hd * stride;
    if (count > 0)
      kernels.scores(a.queryAt + 4 * at, a.keysAt + 4 * kv, scoresAt, stride, padTo(count, SCORE_BLOCK), hd);
    // A fresh view per pair: the memory may have grown since the last call (shared memories grow in place).
    const floats = new Float32Array(memory.buffer);
    const scores = floats.subarray(scoresAt / 4, scoresAt / 4 + count);
    const probs = floats.subarray(probsAt / 4, probsAt / 4 + count);
    const mask =
      a.maskAt === 0 ? null : floats.subarray(a.maskAt / 4 + group * a.slots, a.maskAt / 4 + (group + 1) * a.slots);
    const query = floats.subarray(a.queryAt / 4 + at, a.queryAt / 4 + at + hd);
    const extraKey = a.extraKeysAt === 0 ? null : floats.subarray(a.extraKeysAt / 4 + at, a.extraKeysAt / 4 + at + hd);
    let extraScore = -Infinity;
    if (extraKey) {
      let s = 0;
      for (let c = 0; c < hd; c++) s += query[c]! * extraKey[c]!;
      extraScore = s * scale;
    }
    let maxScore = -Infinity;
    let any = extraKey !== null;
    for (let j = 0; j < count; j++) {
      if (mask && mask[j] !== 1) continue;
      any = true;
      maxScore = Math.max(maxScore, scores[j]!);
    }
    const max = Math.max(extraScore, maxScore * scale);
    let total = 0;
    if (!any) {
      // With nothing visible every column weighs the same, as in the exported graphs (they add the float32 minimum).
      probs.fill(1);
      total = count;
    } else if (count > 0) {
      floats.set([scale, max], paramsAt / 4);
      kernels.exp(scoresAt, probsAt, count, paramsAt);
      for (let j = 0; j < count; j++) {
        if (mask && mask[j] !== 1) probs[j] = 0;
        total += probs[j]!;
      }
    }
    const extraWeight = extraKey ? Math.exp(extraScore - max) : 0;
    total += extraWeight;
    const inverse = 1 / total;
    for (let j = 0; j < count; j++) probs[j] = probs[j]! * inverse;
    const result = floats.subarray(a.outAt / 4 + at, a.outAt / 4 + at + hd);
    if (count > 0) kernels.weighted(probsAt, a.valuesAt + 4 * kv, a.outAt + 4 * at, count, hd);
    else result.fill(0);
    if (extraKey) {
      const p = extraWeight / total;
      const extraValue = floats.subarray(a.extraValuesAt / 4 + at, a.extraValuesAt / 4 + at + hd);
      for (let c = 0; c < hd; c++) result[c] = result[c]! + p * extraValue[c]!;
    }
  }
}
