/**
 * The int8 GEMM kernels, written as WebAssembly: y[m, n] = (Σ_k x[m, k] · w[k, n]) · wScale[n] · xScale[m], with int8
 * weights and 12-bit integer activations, multiplied exactly in 32-bit integers: by SIMD128's `i32x4.dot_i16x8_s` (the
 * widest integer product it has; docs/performance.md#our-own-int8-kernel) or, where the engine has it and it is faster,
 * by relaxed SIMD's 8-bit dot (`GemmKernel`; docs/performance.md#relaxed-simd).
 *
 * Weights are packed once into panels of 8 columns (`packInt8Panels`): for every 4 rows of k, two 16-byte vectors, each
 * holding 4 columns × 4 consecutive k. A tile of `TILE_ROWS` rows × 8 columns keeps its 8 accumulators in registers
 * while the loop streams one panel; the int8 weights are widened to 16 bits as they are loaded (`v128.load8x8_s`: one
 * instruction where a load and two extends took four), so they are read at 1 byte each, which is what bounds a 1-image
 * step.
 */
import { FunctionBody } from './wasm-binary.ts';

export const PANEL_COLUMNS = 8;
/** k is padded to a multiple of this (the packed block height). */
export const K_BLOCK = 4;
/**
 * Rows per tile: 2 measured best (4 runs out of registers and reads 2-row batches wastefully; tiles of 4 or 6 rows ×
 * 4 columns did no better at 18 rows).
 */
const TILE_ROWS = 2;
const VECTORS = PANEL_COLUMNS / 4;

/** The accumulator lanes [c0 (k, k+1), c0 (k+2, k+3), c1 …, c1 …] and the next four columns' → [c0, c1, c2, c3]. */
const EVEN_LANES = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];
const ODD_LANES = EVEN_LANES.map((b) => b + 4);

/** The kernel's parameters, in order: byte offsets, then sizes; columns [p0, p1) of the padded N are computed. */
export const GEMM_PARAMS = ['wp', 'xa', 'sw', 'sx', 'y', 'M', 'N', 'K', 'p0', 'p1'] as const;

/**
 * How a tile's products are taken:
 * - `dot16`: the activations as 16-bit integers, the weights widened to 16 bits as they load, `i32x4.dot_i16x8_s`
 *   (8 multiply-adds) and an add; SIMD128, everywhere.
 * - `relaxed`: relaxed SIMD's `i32x4.relaxed_dot_i8x16_i7x16_add_s` (16 multiply-adds and the accumulate) on the int8
 *   weights as stored. Its second operand is 7-bit, so each activation q (±2047) goes in as two 6-bit limbs of
 *   u = q + 2048 (`limbs` in row-kernels.ts): Σ w·q = 64 Σ w·hi + Σ w·lo − 2048 Σ w, the last term a per-column
 *   constant stored after the layer's scales (`columnOffsets`). The same integers, so the same floats as `dot16`, bit
 *   for bit; in two's complement the terms may wrap while the result, which fits, comes out exact.
 */
export type GemmKernel = 'dot16' | 'relaxed';

/** A limb of `relaxed`'s activations: u = hi · LIMB + lo, 0 ≤ lo, hi < LIMB. */
export const LIMB = 64;
export const ACTIVATION_OFFSET = 2048;

interface TileProducts {
  declare(): void;
  /** Zeroes row r's accumulators. */
  zero(r: number): void;
  /** One k block of every row: `wq` points at its 2 × 16 bytes of weights, `xp${r} + k2` at row r's activations. */
  block(): void;
  /** Pushes row r's sums of columns 4g … 4g + 3 as int32s. */
  sums(r: number, g: number): void;
}

function dot16Products(f: FunctionBody, rows: readonly number[], vectors: readonly number[]): TileProducts {
  const acc = (r: number, h: number) => `a${r}_${h}`;
  return {
    declare() {
      f.local('x', 'v128');
      for (const g of vectors) {
        f.local(`lo${g}`, 'v128');
        f.local(`hi${g}`, 'v128');
      }
      for (const r of rows) for (let h = 0; h < 2 * VECTORS; h++) f.local(acc(r, h), 'v128');
    },
    zero(r) {
      for (let h = 0; h < 2 * VECTORS; h++) f.bytes16('v128.const', Array(16).fill(0)).set(acc(r, h));
    },
    block() {
      for (const g of vectors) {
        f.get('wq')
          .simd('v128.load8x8_s', 16 * g)
          .set(`lo${g}`);
        f.get('wq')
          .simd('v128.load8x8_s', 16 * g + 8)
          .set(`hi${g}`);
      }
      for (const r of rows) {
        // x[k .. k+3] as 16-bit integers, twice: lanes line up with the 4 k of two columns.
        f.get(`xp${r}`).get('k2').op('add').simd('v128.load64_splat', 0).set('x');
        for (const g of vectors) {
          for (const [h, half] of [
            [2 * g, `lo${g}`],
            [2 * g + 1, `hi${g}`],
          ] as const) {
            f.get(acc(r, h)).get(half).get('x').simd('i32x4.dot_i16x8_s').simd('i32x4.add').set(acc(r, h));
          }
        }
      }
    },
    sums(r, g) {
      const [a, b] = [acc(r, 2 * g), acc(r, 2 * g + 1)];
      f.get(a).get(b).bytes16('i8x16.shuffle', EVEN_LANES);
      f.get(a).get(b).bytes16('i8x16.shuffle', ODD_LANES).simd('i32x4.add');
    },
  };
}

function relaxedProducts(f: FunctionBody, rows: readonly number[], vectors: readonly number[]): TileProducts {
  const acc = (r: number, g: number, limb: 'lo' | 'hi') => `a${r}_${g}${limb}`;
  return {
    declare() {
      for (const g of vectors) f.local(`w${g}`, 'v128');
      for (const r of rows) {
        f.local(`lo${r}`, 'v128');
        f.local(`hi${r}`, 'v128');
        for (const g of vectors) for (const limb of ['lo', 'hi'] as const) f.local(acc(r, g, limb), 'v128');
      }
    },
    zero(r) {
      for (const g of vectors)
        for (const limb of ['lo', 'hi'] as const) f.bytes16('v128.const', Array(16).fill(0)).set(acc(r, g, limb));
    },
    block() {
      for (const g of vectors)
        f.get('wq')
          .simd('v128.load', 16 * g)
          .set(`w${g}`);
      for (const r of rows) {
        // The block's 8 bytes: lo limbs of k … k+3, then hi limbs; each splat to every column's lane.
        f.get(`xp${r}`).get('k2').op('add').simd('v128.load32_splat', 0).set(`lo${r}`);
        f.get(`xp${r}`).get('k2').op('add').simd('v128.load32_splat', 4).set(`hi${r}`);
        for (const g of vectors) {
          for (const limb of ['lo', 'hi'] as const) {
            const a = acc(r, g, limb);
            f.get(`w${g}`).get(`${limb}${r}`).get(a).simd('i32x4.relaxed_dot_i8x16_i7x16_add_s').set(a);
          }
        }
      }
    },
    sums(r, g) {
      f.get(acc(r, g, 'hi'))
        .i32(Math.log2(LIMB))
        .simd('i32x4.shl')
        .get(acc(r, g, 'lo'))
        .simd('i32x4.add');
      f.get('ws')
        .get('N')
        .i32(2)
        .op('shl')
        .op('add')
        .simd('v128.load', 16 * g)
        .simd('i32x4.sub');
    },
  };
}

/**
 * gemm(weights, activations, wScales, xScales, y, M, N, K, p0, p1): N and K padded, y's rows N floats apart; p0 and p1
 * multiples of PANEL_COLUMNS, so threads can share one call by columns. `relaxed` reads its activations as limbs and
 * its column offsets N floats after wScales.
 */
export function int8GemmFunction(kernel: GemmKernel = 'dot16'): FunctionBody {
  const f = new FunctionBody(GEMM_PARAMS);
  for (const name of ['p', 'm', 'k2', 'K2', 'wq', 'ws', 'y0', 'panel']) f.local(name, 'i32');
  const rows = [...Array(TILE_ROWS).keys()];
  const vectors = [...Array(VECTORS).keys()];
  const products = (kernel === 'dot16' ? dot16Products : relaxedProducts)(f, rows, vectors);
  products.declare();
  for (const r of rows) {
    f.local(`xp${r}`, 'i32');
    f.local(`s${r}`, 'v128');
  }
  // Row m + r of the tile, or row m past the last row (computed again, never stored).
  const tileRow = (r: number): void => {
    f.get('m').i32(r).op('add').get('m');
    f.get('m').i32(r).op('add').get('M').op('lt_u').op('select');
  };

  f.get('K').i32(PANEL_COLUMNS).op('mul').set('panel');
  f.get('K').i32(1).op('shl').set('K2');
  f.get('p0').set('p');
  f.whileNot(
    () => f.get('p').get('p1').op('ge_u'),
    () => {
      f.i32(0).set('m');
      f.whileNot(
        () => f.get('m').get('M').op('ge_u'),
        () => {
          for (const r of rows) {
            f.get('xa');
            tileRow(r);
            f.get('K').op('mul').i32(1).op('shl').op('add').set(`xp${r}`);
            products.zero(r);
          }
          f.get('wp').get('p').i32(3).op('shr_u').get('panel').op('mul').op('add').set('wq');
          f.get('sw').get('p').i32(2).op('shl').op('add').set('ws');
          f.i32(0).set('k2');
          f.whileNot(
            () => f.get('k2').get('K2').op('ge_u'),
            () => {
              products.block();
              f.get('wq')
                .i32(16 * VECTORS)
                .op('add')
                .set('wq');
              f.get('k2')
                .i32(2 * K_BLOCK)
                .op('add')
                .set('k2');
            },
          );
          for (const r of rows) {
            f.get('sx');
            tileRow(r);
            f.i32(2).op('shl').op('add').simd('v128.load32_splat', 0).set(`s${r}`);
          }
          f.get('y').get('m').get('N').op('mul').get('p').op('add').i32(2).op('shl').op('add').set('y0');
          for (const r of rows) {
            f.get('m').i32(r).op('add').get('M').op('lt_u');
            f.ifThen(() => {
              for (const g of vectors) {
                f.get('y0').i32(r).get('N').op('mul').i32(2).op('shl').op('add');
                products.sums(r, g);
                f.simd('f32x4.convert_i32x4_s');
                f.get('ws')
                  .simd('v128.load', 16 * g)
                  .simd('f32x4.mul');
                f.get(`s${r}`).simd('f32x4.mul');
                f.simd('v128.store', 16 * g);
              }
            });
          }
          f.get('m').i32(TILE_ROWS).op('add').set('m');
        },
      );
      f.get('p').i32(PANEL_COLUMNS).op('add').set('p');
    },
  );
  return f;
}

/**
 * int8 weights [inDim, outDim] (row-major, as the exporter stores them) → the kernel's panels, zero-padded. Each
 * column's 4 bytes of a k block are one 32-bit word: built from 4 rows read in order and written a word at a time, in
 * plain loops that V8 optimizes on their first call (packing a mini q8 encoder and decoder at load 1.4 → 0.4 s against
 * byte by byte with a bounds check each, which had been 40 % of loading the model). Words are little-endian, as
 * WebAssembly's memory is on every platform a browser runs.
 */
export function packInt8Panels(q: Int8Array, inDim: number, outDim: number, into: Int8Array): void {
  const paddedIn = padTo(inDim, K_BLOCK);
  const bytes = padTo(outDim, PANEL_COLUMNS) * paddedIn;
  if (into.byteOffset % 4 !== 0 || into.length < bytes) throw new Error('panels need 4-byte alignment and room');
  into.fill(0, 0, bytes);
  const words = new Int32Array(into.buffer, into.byteOffset, bytes / 4);
  const u = new Uint8Array(q.buffer, q.byteOffset, q.length);
  const panelWords = (paddedIn * PANEL_COLUMNS) / 4;
  const fullBlocks = Math.floor(inDim / K_BLOCK);
  for (let b = 0; b < fullBlocks; b++) {
    const r0 = b * K_BLOCK * outDim;
    const r1 = r0 + outDim;
    const r2 = r1 + outDim;
    const r3 = r2 + outDim;
    const blockWord = b * PANEL_COLUMNS;
    for (let n = 0; n < outDim; n++) {
      words[(n >> 3) * panelWords + blockWord + (n & 7)] =
        u[r0 + n]! | (u[r1 + n]! << 8) | (u[r2 + n]! << 16) | (u[r3 + n]! << 24);
    }
  }
  // The rows of a last, partial block (the rest of its word stays 0).
  for (let k = fullBlocks * K_BLOCK; k < inDim; k++) {
    const shift = 8 * (k % K_BLOCK);
    const blockWord = fullBlocks * PANEL_COLUMNS;
    for (let n = 0; n < outDim; n++) words[(n >> 3) * panelWords + blockWord + (n & 7)]! |= u[k * outDim + n]! << shift;
  }
}

/**
 * columnOffsets(wp, N, K, out): `relaxed`'s per-column constants ACTIVATION_OFFSET · Σ_k w[k, n] from N packed columns
 * (whole panels) of K (padded) rows, as int32s at out; the padding columns' are 0. Each 16-byte vector of a panel is 4
 * columns × 4 k, so two pairwise widening adds give 4 column sums: the weights are read once, as fast as memory gives
 * them (the TypeScript loop took ≈ 1 ns a weight).
 */
export function columnOffsetsFunction(): FunctionBody {
  const f = new FunctionBody(['wp', 'N', 'K', 'out']);
  for (const name of ['p', 'wq', 'end']) f.local(name, 'i32');
  for (const g of [0, 1]) f.local(`sum${g}`, 'v128');
  f.i32(0).set('p');
  f.get('wp').set('wq');
  f.whileNot(
    () => f.get('p').get('N').op('ge_u'),
    () => {
      for (const g of [0, 1]) f.bytes16('v128.const', Array(16).fill(0)).set(`sum${g}`);
      f.get('wq').get('K').i32(3).op('shl').op('add').set('end');
      f.whileNot(
        () => f.get('wq').get('end').op('ge_u'),
        () => {
          for (const g of [0, 1]) {
            f.get(`sum${g}`)
              .get('wq')
              .simd('v128.load', 16 * g);
            f.simd('i16x8.extadd_pairwise_i8x16_s')
              .simd('i32x4.extadd_pairwise_i16x8_s')
              .simd('i32x4.add')
              .set(`sum${g}`);
          }
          f.get('wq').i32(32).op('add').set('wq');
        },
      );
      for (const g of [0, 1]) {
        f.get('out').get('p').i32(2).op('shl').op('add');
        f.get(`sum${g}`)
          .i32(Math.log2(ACTIVATION_OFFSET))
          .simd('i32x4.shl')
          .simd('v128.store', 16 * g);
      }
      f.get('p').i32(PANEL_COLUMNS).op('add').set('p');
    },
  );
  return f;
}

/** The `columnOffsets` kernel's model: ACTIVATION_OFFSET · Σ_k w[k, n] in wrapping 32-bit arithmetic, as subtracted. */
export function columnOffsets(q: Int8Array, inDim: number, outDim: number, into: Int32Array): void {
  const sums = new Int32Array(outDim);
  for (let k = 0; k < inDim; k++) for (let n = 0; n < outDim; n++) sums[n]! += q[k * outDim + n]!;
  for (let n = 0; n < outDim; n++) into[n] = Math.imul(sums[n]!, ACTIVATION_OFFSET);
}

export const padTo = (n: number, multiple: number): number => Math.ceil(n / multiple) * multiple;
