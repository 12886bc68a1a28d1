/**
 * The attention kernels of our own decoder step, WebAssembly SIMD128 over float32 (docs/performance.md):
 * `scores` is q·K for one row and head with keys stored [hd, slots] (the cache's layout: 16 slots per pass, one
 * accumulator per 4), `weighted` is p·V with values stored [slots, hd] (16 channels per pass), `exp` the softmax's
 * exponentials (WebAssembly has no exp instruction: a polynomial, to float32's precision).
 */
import { FunctionBody } from './wasm-binary.ts';

/** Slots per pass of `scores`: callers round their count up to it (the extra scores are never read). */
export const SCORE_BLOCK = 16;
/** Channels per pass of `weighted`: the head size must be a multiple of it. */
export const CHANNEL_BLOCK = 16;

/** Four f32x4 accumulators fed by one splatted float and four consecutive vectors at `pointer`. */
function accumulate4(f: FunctionBody, splat: string, pointer: string): void {
  for (let a = 0; a < 4; a++)
    f.get(`a${a}`)
      .get(splat)
      .get(pointer)
      .simd('v128.load', 16 * a)
      .simd('f32x4.mul')
      .simd('f32x4.add')
      .set(`a${a}`);
}

function declareAccumulators(f: FunctionBody): void {
  f.local('x', 'v128');
  for (let a = 0; a < 4; a++) f.local(`a${a}`, 'v128');
}

function zeroAccumulators(f: FunctionBody): void {
  for (let a = 0; a < 4; a++) f.bytes16('v128.const', Array(16).fill(0)).set(`a${a}`);
}

function storeAccumulators(f: FunctionBody, address: () => void): void {
  for (let a = 0; a < 4; a++) {
    address();
    f.get(`a${a}`).simd('v128.store', 16 * a);
  }
}

/** scores(q, k, out, slots, count, hd): out[j] = Σ_c q[c] · k[c · slots + j] for j < count rounded up to 16. */
export function scoresFunction(): FunctionBody {
  const f = new FunctionBody(['q', 'k', 'out', 'slots', 'count', 'hd']);
  for (const name of ['j', 'c', 'kp', 'qp', 'stride']) f.local(name, 'i32');
  declareAccumulators(f);
  f.get('slots').i32(2).op('shl').set('stride');
  f.i32(0).set('j');
  f.whileNot(
    () => f.get('j').get('count').op('ge_u'),
    () => {
      zeroAccumulators(f);
      f.get('k').get('j').i32(2).op('shl').op('add').set('kp');
      f.get('q').set('qp');
      f.i32(0).set('c');
      f.whileNot(
        () => f.get('c').get('hd').op('ge_u'),
        () => {
          f.get('qp').simd('v128.load32_splat', 0).set('x');
          accumulate4(f, 'x', 'kp');
          f.get('kp').get('stride').op('add').set('kp');
          f.get('qp').i32(4).op('add').set('qp');
          f.get('c').i32(1).op('add').set('c');
        },
      );
      storeAccumulators(f, () => f.get('out').get('j').i32(2).op('shl').op('add'));
      f.get('j').i32(SCORE_BLOCK).op('add').set('j');
    },
  );
  return f;
}

/** weighted(p, v, out, count, hd): out[c] = Σ_{j < count} p[j] · v[j · hd + c], hd a multiple of 16. */
export function weightedFunction(): FunctionBody {
  const f = new FunctionBody(['p', 'v', 'out', 'count', 'hd']);
  for (const name of ['j', 'cb', 'vp', 'pp', 'stride']) f.local(name, 'i32');
  declareAccumulators(f);
  f.get('hd').i32(2).op('shl').set('stride');
  f.i32(0).set('cb');
  f.whileNot(
    () => f.get('cb').get('stride').op('ge_u'),
    () => {
      zeroAccumulators(f);
      f.get('v').get('cb').op('add').set('vp');
      f.get('p').set('pp');
      f.i32(0).set('j');
      f.whileNot(
        () => f.get('j').get('count').op('ge_u'),
        () => {
          f.get('pp').simd('v128.load32_splat', 0).set('x');
          accumulate4(f, 'x', 'vp');
          f.get('vp').get('stride').op('add').set('vp');
          f.get('pp').i32(4).op('add').set('pp');
          f.get('j').i32(1).op('add').set('j');
        },
      );
      storeAccumulators(f, () => f.get('out').get('cb').op('add'));
      f.get('cb')
        .i32(4 * CHANNEL_BLOCK)
        .op('add')
        .set('cb');
    },
  );
  return f;
}

/** e^r by its Taylor series to r⁷ for |r| ≤ ln 2 / 2: relative error ≤ 6e-9. */
const EXP_TAYLOR = [1, 1, 1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040];
/** ln 2 in two parts (Cody and Waite): k · LN2_HIGH is exact for the k here, so r keeps float32's precision. */
const LN2_HIGH = 0.693359375;
const LN2_LOW = -2.1219444e-4;
/** The smallest argument: e^−87.33 ≈ 2^−126, float32's smallest normal number. */
const EXP_MIN = -87.33;
/** The largest: e^88 < float32's largest number (2^k stays a valid exponent). */
const EXP_MAX = 88;

/**
 * exp(x, out, count, params): out[j] = e^(x[j] · scale − shift) for j < count rounded up to 4, with scale and shift the
 * two float32s at `params`: e^k·ln2 · e^r, k the nearest integer to the argument / ln 2. For arguments ≤ 0 (the
 * softmax's, shifted by its maximum); those below −87.33 give ≈ 2^−126, those above 88 e^88.
 */
export function expFunction(): FunctionBody {
  const f = new FunctionBody(['x', 'out', 'count', 'params']);
  for (const name of ['j', 'end']) f.local(name, 'i32');
  for (const name of ['scale', 'shift', 'r', 'k']) f.local(name, 'v128');
  f.get('params').simd('v128.load32_splat', 0).set('scale');
  f.get('params').simd('v128.load32_splat', 4).set('shift');
  f.get('count').i32(2).op('shl').set('end');
  f.i32(0).set('j');
  f.whileNot(
    () => f.get('j').get('end').op('ge_u'),
    () => {
      f.get('x').get('j').op('add').simd('v128.load', 0).get('scale').simd('f32x4.mul').get('shift').simd('f32x4.sub');
      f.f32x4(EXP_MIN).simd('f32x4.max').f32x4(EXP_MAX).simd('f32x4.min').set('r');
      f.get('r').f32x4(Math.LOG2E).simd('f32x4.mul').simd('f32x4.nearest').set('k');
      f.get('r').get('k').f32x4(LN2_HIGH).simd('f32x4.mul').simd('f32x4.sub');
      f.get('k').f32x4(LN2_LOW).simd('f32x4.mul').simd('f32x4.sub').set('r');
      f.get('out').get('j').op('add');
      f.f32x4(EXP_TAYLOR[7]!);
      for (let n = 6; n >= 0; n--) f.get('r').simd('f32x4.mul').f32x4(EXP_TAYLOR[n]!).simd('f32x4.add');
      // 2^k as float32 bits: (k + 127) << 23.
      f.get('k').simd('i32x4.trunc_sat_f32x4_s').i32x4(127).simd('i32x4.add').i32(23).simd('i32x4.shl');
      f.simd('f32x4.mul').simd('v128.store', 0);
      f.get('j').i32(16).op('add').set('j');
    },
  );
  return f;
}
