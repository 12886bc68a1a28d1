/**
 * A range of an attention call's (row, head) pairs (attention.ts), on one thread: for each pair, the query rounded to
 * integers (the `quantize` kernel), q·K on the `scores` kernel, the softmax (its exponentials on the `exp` kernel), p·V
 * on the `weighted` kernel. Everything it reads and writes is in the kernels' memory at offsets passed as integers,
 * so a helper thread (gemm-threads.ts) runs the same code on the chunks of pairs it claims as the caller does.
 */
import { SCORE_BLOCK, WIDE_HEAD } from './attention-kernel.ts';
import { padTo } from './int8-gemm-kernel.ts';

/**
 * Integer levels of the query and the cached keys (13 bits): a lane of the scores kernel sums hd / 4 products, within
 * int32 for hd ≤ MAX_HEAD_SIZE (16 · 8191² < 2^31; DALL·E Mini and Mega have heads of 64).
 */
export const QUERY_LEVELS = 8191;
export const KEY_LEVELS = 8191;
/** Values are widened to float32 before they are multiplied: int16's whole range. */
export const VALUE_LEVELS = 32767;
/** The largest head the kernels take: `weighted` takes a head of this size its own way (attention-kernel.ts). */
export const MAX_HEAD_SIZE = WIDE_HEAD;

/**
 * The attention call's integer arguments, in order (byte offsets end in `At`; 0 for `maskAt`: none). A cache place is
 * keys and values int16 [blocks, stride, hd] with float32 scales [blocks, stride]; the mask, float32 [G, count rounded
 * up to SCORE_BLOCK], is 1 where a slot is visible.
 */
export const ATTENTION_PARAMS = [
  'queryAt',
  'queryIntsAt',
  'queryScalesAt',
  'keysAt',
  'valuesAt',
  'keyScalesAt',
  'valueScalesAt',
  'stride',
  'count',
  'maskAt',
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
  readonly softmax: Kernel;
  readonly quantize: Kernel;
}

/** Floats of one thread's scratch for a place of `slots` slots: scores, probabilities, the softmax's scale. */
export const attentionScratchFloats = (slots: number): number => 2 * padTo(slots + SCORE_BLOCK, 16) + 4;

const scaleWords = new Int32Array(2);
const scaleValue = new Float64Array(scaleWords.buffer);

/** The arguments as the integers a call carries (the float64 scale as two words). */
export function packAttentionArgs(args: Omit<AttentionArgs, 'scaleLow' | 'scaleHigh'>, scale: number): number[] {
  scaleValue[0] = scale;
  const all: AttentionArgs = { ...args, scaleLow: scaleWords[0]!, scaleHigh: scaleWords[1]! };
  return ATTENTION_PARAMS.map((name) => all[name]);
}

/** The (row, head) pairs of an attention call's arguments. */
export function attentionPairs(packed: readonly number[]): number {
  return packed[ATTENTION_PARAMS.indexOf('rows')]! * packed[ATTENTION_PARAMS.indexOf('heads')]!;
}

/** Pairs [from, to) of a call, on thread `thread` (the scratch it uses is that thread's). */
export function attendPairs(
  kernels: AttentionKernels,
  memory: WebAssembly.Memory,
  packed: readonly number[],
  from: number,
  to: number,
  thread: number,
): void {
  const a = Object.fromEntries(ATTENTION_PARAMS.map((name, i) => [name, packed[i]!])) as AttentionArgs;
  scaleWords.set([a.scaleLow, a.scaleHigh]);
  const scale = scaleValue[0]!;
  const { hd, heads, count, stride } = a;
  const block = padTo(stride + SCORE_BLOCK, 16);
  const scoresAt = a.scratchAt + 4 * thread * attentionScratchFloats(stride);
  const probsAt = scoresAt + 4 * block;
  const paramsAt = probsAt + 4 * block;
  if (from >= to) return;
  kernels.quantize(
    a.queryAt + 4 * from * hd,
    to - from,
    hd,
    QUERY_LEVELS,
    a.queryIntsAt + 2 * from * hd,
    hd,
    a.queryScalesAt + 4 * from,
    1,
  );
  // The memory does not grow during a call: one view serves every pair.
  const floats = new Float32Array(memory.buffer);
  if (count === 0) {
    floats.fill(0, a.outAt / 4 + from * hd, a.outAt / 4 + to * hd);
    return;
  }
  const queryScales = floats.subarray(a.queryScalesAt / 4, a.queryScalesAt / 4 + a.rows * heads);
  for (let pair = from; pair < to; pair++) {
    const r = Math.floor(pair / heads);
    const h = pair % heads;
    const group = Math.floor(r / a.rowsPerGroup);
    const at = pair * hd;
    const kv = (group * heads + h) * stride;
    kernels.scores(
      a.queryIntsAt + 2 * at,
      a.keysAt + 2 * kv * hd,
      a.keyScalesAt + 4 * kv,
      scoresAt,
      padTo(count, SCORE_BLOCK),
      hd,
    );
    const pairScale = scale * queryScales[pair]!;
    const valueScalesAt = a.valueScalesAt + 4 * kv;
    for (let j = count; j < padTo(count, SCORE_BLOCK); j++) floats[scoresAt / 4 + j] = -Infinity;
    floats[paramsAt / 4] = pairScale;
    const maskAt = a.maskAt === 0 ? 0 : a.maskAt + 4 * group * padTo(count, SCORE_BLOCK);
    kernels.softmax(scoresAt, probsAt, count, paramsAt, valueScalesAt, maskAt);
    kernels.weighted(probsAt, a.valuesAt + 2 * kv * hd, a.outAt + 4 * at, count, hd);
  }
}
