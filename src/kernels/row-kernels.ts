/**
 * The row kernels around our int8 GEMM, WebAssembly SIMD128 over float32 in the GEMM's memory: `quantize` rounds
 * each row of activations to integer levels (int16) by its own absolute maximum (the GEMM's input), `glu` computes
 * the GLU's GELU(gate) · up in place on the GEMM's output of the fused gate and up layers, `layerNorm` normalizes rows,
 * `limbs` rewrites rounded activations as the relaxed GEMM's 6-bit limbs.
 * The tests hold them to TypeScript models (int8-gemm.ts `quantizeRows`, the reference GELU and LayerNormalization).
 */
import { ACTIVATION_OFFSET, LIMB } from './int8-gemm-kernel.ts';
import { FunctionBody } from './wasm-binary.ts';

/** The float32 sign bit in every lane. */
const SIGN_BITS = Array.from({ length: 16 }, (_, i) => (i % 4 === 3 ? 0x80 : 0));
/** Lanes [2, 3, 0, 1] and [1, 0, 3, 2]: two steps of a horizontal maximum. */
export const SWAP_HALVES = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
export const SWAP_PAIRS = [4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11];

/**
 * quantize(x, rows, width, levels, into, intoStride, scales, scaleStride): row m of x (floats, `width` a multiple of 4)
 * → into (int16, rows `intoStride` apart) rounded to nearest (ties to even) of x · (levels / max |x|), in float32;
 * scales[m · scaleStride] = max / levels. A row of zeros takes a maximum of 1e-30 (no division by zero, as in the
 * exporter's graphs). Strides let the attention cache take a slot of every block in one call (attention.ts).
 */
export function quantizeFunction(): FunctionBody {
  const f = new FunctionBody(['x', 'rows', 'width', 'levels', 'into', 'intoStride', 'scales', 'scaleStride']);
  for (const name of ['m', 'p', 'end', 'q']) f.local(name, 'i32');
  for (const name of ['max', 'max2', 'toLevels', 'levelsF', 'v', 'v2']) f.local(name, 'v128');
  f.get('levels').simd('i32x4.splat').simd('f32x4.convert_i32x4_s').set('levelsF');
  // Two vectors per pass while two remain (two maxima in flight, one int16 store), then the last one alone.
  const eachVector = (pair: () => void, single: () => void): void => {
    f.whileNot(
      () => f.get('p').i32(32).op('add').get('end').op('gt_u'),
      () => {
        pair();
        f.get('p').i32(32).op('add').set('p');
      },
    );
    f.get('p').get('end').op('lt_u').ifThen(single);
  };
  const rowStart = (): void => {
    f.get('x').get('m').get('width').op('mul').i32(2).op('shl').op('add').set('p');
  };
  const absMax = (acc: string, offset: number): void => {
    f.get(acc).get('p').simd('v128.load', offset).simd('f32x4.abs').simd('f32x4.max').set(acc);
  };
  const levelsOf = (offset: number, into: string): void => {
    f.get('p').simd('v128.load', offset).get('toLevels').simd('f32x4.mul').simd('f32x4.nearest');
    f.simd('i32x4.trunc_sat_f32x4_s').set(into);
  };
  f.i32(0).set('m');
  f.whileNot(
    () => f.get('m').get('rows').op('ge_u'),
    () => {
      rowStart();
      f.get('p').get('width').i32(2).op('shl').op('add').set('end');
      f.f32x4(1e-30).set('max');
      f.f32x4(1e-30).set('max2');
      eachVector(
        () => {
          absMax('max', 0);
          absMax('max2', 16);
        },
        () => absMax('max', 0),
      );
      f.get('max').get('max2').simd('f32x4.max').set('max');
      for (const lanes of [SWAP_HALVES, SWAP_PAIRS])
        f.get('max').get('max').get('max').bytes16('i8x16.shuffle', lanes).simd('f32x4.max').set('max');
      f.get('scales').get('m').get('scaleStride').op('mul').i32(2).op('shl').op('add');
      f.get('max').get('levelsF').simd('f32x4.div').storeLane('v128.store32_lane', 0, 0);
      f.get('levelsF').get('max').simd('f32x4.div').set('toLevels');
      rowStart();
      f.get('into').get('m').get('intoStride').op('mul').i32(1).op('shl').op('add').set('q');
      eachVector(
        () => {
          levelsOf(0, 'v');
          levelsOf(16, 'v2');
          f.get('q').get('v').get('v2').simd('i16x8.narrow_i32x4_s').simd('v128.store', 0);
          f.get('q').i32(16).op('add').set('q');
        },
        () => {
          levelsOf(0, 'v');
          f.get('q').get('v').get('v').simd('i16x8.narrow_i32x4_s').storeLane('v128.store64_lane', 0, 0);
        },
      );
      f.get('m').i32(1).op('add').set('m');
    },
  );
  return f;
}

/** Bytes [lo0 … lo7, hi0 … hi7] → [lo0 … lo3, hi0 … hi3, lo4 … lo7, hi4 … hi7]: one k block's limbs together. */
const BLOCK_LIMBS = [0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15];

/**
 * limbs(at, count): `count` int16 activations at `at` (a multiple of 4, blocks of 4 consecutive k) rewritten in place
 * as the relaxed GEMM reads them (int8-gemm-kernel.ts): each block's 8 bytes become u = q + 2048's low 6 bits for its
 * 4 k, then its high 6 bits, every limb in 0 … 63. `toLimbs` in int8-gemm.ts is its TypeScript model.
 */
export function limbsFunction(): FunctionBody {
  const f = new FunctionBody(['at', 'count']);
  for (const name of ['p', 'end']) f.local(name, 'i32');
  for (const name of ['offset', 'mask', 'u']) f.local(name, 'v128');
  const int16s = (value: number) => Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? value & 0xff : value >> 8));
  f.bytes16('v128.const', int16s(ACTIVATION_OFFSET)).set('offset');
  f.bytes16('v128.const', int16s(LIMB - 1)).set('mask');
  const limbsOf = (load: 'v128.load' | 'v128.load64_splat'): void => {
    f.get('p').simd(load, 0).get('offset').simd('i16x8.add').set('u');
    f.get('u').get('mask').simd('v128.and');
    f.get('u').i32(Math.log2(LIMB)).simd('i16x8.shr_u').simd('i8x16.narrow_i16x8_u').set('u');
    f.get('u').get('u').bytes16('i8x16.shuffle', BLOCK_LIMBS);
  };
  f.get('at').set('p');
  f.get('at').get('count').i32(1).op('shl').op('add').set('end');
  f.whileNot(
    () => f.get('p').i32(16).op('add').get('end').op('gt_u'),
    () => {
      f.get('p');
      limbsOf('v128.load');
      f.simd('v128.store', 0);
      f.get('p').i32(16).op('add').set('p');
    },
  );
  // A last block of 4 alone: loaded twice over, its limbs come out in the first 8 bytes.
  f.get('p').get('end').op('lt_u');
  f.ifThen(() => {
    f.get('p');
    limbsOf('v128.load64_splat');
    f.storeLane('v128.store64_lane', 0, 0);
  });
  return f;
}

/** Adds the four lanes of `name` into every lane. */
function horizontalSum(f: FunctionBody, name: string): void {
  for (const lanes of [SWAP_HALVES, SWAP_PAIRS])
    f.get(name).get(name).get(name).bytes16('i8x16.shuffle', lanes).simd('f32x4.add').set(name);
}

/**
 * layerNorm(x, out, rows, width, padded, scale, bias, params): rows of x `padded` floats apart (a multiple of 4, the
 * columns past `width` zero) normalized over `width` (the mean, then the variance of the differences, in float32) with
 * epsilon the float32 at `params`, scaled and shifted per column, into out (the same layout; may be x).
 */
export function layerNormFunction(): FunctionBody {
  const f = new FunctionBody(['x', 'out', 'rows', 'width', 'padded', 'scale', 'bias', 'params']);
  for (const name of ['m', 'p', 'q', 'c', 'full', 'end']) f.local(name, 'i32');
  for (const name of ['acc', 'mean', 'd', 'widthF', 'inv', 'tail']) f.local(name, 'v128');
  f.get('width').simd('i32x4.splat').simd('f32x4.convert_i32x4_s').set('widthF');
  // Bytes of the whole vectors within `width`, and the lanes of the last one that are (lane < width mod 4).
  f.get('width').i32(-4).op('and').i32(2).op('shl').set('full');
  f.bytes16(
    'v128.const',
    [0, 1, 2, 3].flatMap((lane) => [lane, 0, 0, 0]),
  );
  f.get('width').i32(3).op('and').simd('i32x4.splat').simd('i32x4.lt_s').set('tail');
  f.get('padded').i32(2).op('shl').set('end');
  const overRow = (end: string, body: () => void): void => {
    f.i32(0).set('c');
    f.whileNot(
      () => f.get('c').get(end).op('ge_u'),
      () => {
        body();
        f.get('c').i32(16).op('add').set('c');
      },
    );
  };
  const load = (pointer: string): void => void f.get(pointer).get('c').op('add').simd('v128.load', 0);
  const addSquare = (): void => void f.get('acc').get('d').get('d').simd('f32x4.mul').simd('f32x4.add').set('acc');
  f.i32(0).set('m');
  f.whileNot(
    () => f.get('m').get('rows').op('ge_u'),
    () => {
      f.get('x').get('m').get('padded').op('mul').i32(2).op('shl').op('add').set('p');
      f.get('out').get('m').get('padded').op('mul').i32(2).op('shl').op('add').set('q');
      f.f32x4(0).set('acc');
      overRow('end', () => {
        f.get('acc');
        load('p');
        f.simd('f32x4.add').set('acc');
      });
      horizontalSum(f, 'acc');
      f.get('acc').get('widthF').simd('f32x4.div').set('mean');
      f.f32x4(0).set('acc');
      overRow('full', () => {
        load('p');
        f.get('mean').simd('f32x4.sub').set('d');
        addSquare();
      });
      // The lanes of a last, partial vector (c = full after the loop); the zero columns past it add nothing.
      f.get('width').i32(3).op('and');
      f.ifThen(() => {
        load('p');
        f.get('mean').simd('f32x4.sub').get('tail').simd('v128.and').set('d');
        addSquare();
      });
      horizontalSum(f, 'acc');
      f.get('acc').get('widthF').simd('f32x4.div').get('params').simd('v128.load32_splat', 0).simd('f32x4.add');
      f.simd('f32x4.sqrt').set('inv');
      f.f32x4(1).get('inv').simd('f32x4.div').set('inv');
      overRow('end', () => {
        f.get('q').get('c').op('add');
        load('p');
        f.get('mean').simd('f32x4.sub').get('inv').simd('f32x4.mul');
        load('scale');
        f.simd('f32x4.mul');
        load('bias');
        f.simd('f32x4.add').simd('v128.store', 0);
      });
      f.get('m').i32(1).op('add').set('m');
    },
  );
  return f;
}

/** Abramowitz & Stegun 7.1.28: erf(z) = 1 − (1 + a1·z + … + a6·z⁶)^−16 for z ≥ 0, |error| ≤ 3e-7, no exp needed. */
export const ERF_POLYNOMIAL = [
  0.0705230784, 0.0422820123, 0.0092705272, 0.0001520143, 0.0002765672, 0.0000430638,
] as const;

/**
 * glu(y, rows, stride, count, upAt): for each row of y (floats, rows `stride` apart) and column c < count (a multiple
 * of 4), y[c] = GELU(y[c]) · y[upAt + c], GELU the exact-erf one with erf by ERF_POLYNOMIAL.
 */
export function gluFunction(): FunctionBody {
  const f = new FunctionBody(['y', 'rows', 'stride', 'count', 'upAt']);
  for (const name of ['m', 'p', 'end', 'up']) f.local(name, 'i32');
  for (const name of ['g', 'z', 'poly']) f.local(name, 'v128');
  f.get('upAt').i32(2).op('shl').set('up');
  f.i32(0).set('m');
  f.whileNot(
    () => f.get('m').get('rows').op('ge_u'),
    () => {
      f.get('y').get('m').get('stride').op('mul').i32(2).op('shl').op('add').set('p');
      f.get('p').get('count').i32(2).op('shl').op('add').set('end');
      f.whileNot(
        () => f.get('p').get('end').op('ge_u'),
        () => {
          f.get('p').simd('v128.load', 0).set('g');
          f.get('g').simd('f32x4.abs').f32x4(Math.SQRT1_2).simd('f32x4.mul').set('z');
          // Horner from a6 down: poly = 1 + z·(a1 + z·(a2 + …)).
          f.f32x4(ERF_POLYNOMIAL[5]);
          for (let i = 4; i >= 0; i--) f.get('z').simd('f32x4.mul').f32x4(ERF_POLYNOMIAL[i]!).simd('f32x4.add');
          f.get('z').simd('f32x4.mul').f32x4(1).simd('f32x4.add').set('poly');
          for (let i = 0; i < 4; i++) f.get('poly').get('poly').simd('f32x4.mul').set('poly');
          // erf(|g|/√2) with g's sign, then g/2 · (1 + erf) · up.
          f.f32x4(1).f32x4(1).get('poly').simd('f32x4.div').simd('f32x4.sub');
          f.get('g').bytes16('v128.const', SIGN_BITS).simd('v128.and').simd('v128.or');
          f.f32x4(1).simd('f32x4.add').get('g').simd('f32x4.mul').f32x4(0.5).simd('f32x4.mul');
          f.get('p').get('up').op('add').simd('v128.load', 0).simd('f32x4.mul');
          f.set('z').get('p').get('z').simd('v128.store', 0);
          f.get('p').i32(16).op('add').set('p');
        },
      );
      f.get('m').i32(1).op('add').set('m');
    },
  );
  return f;
}
