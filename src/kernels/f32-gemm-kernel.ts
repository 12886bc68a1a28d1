/**
 * A float32 GEMM kernel, written as WebAssembly: y[m, n] = Σ_k x[m, k] · w[k, n], for the VQGAN's Winograd products
 * (docs/performance.md#a-float-gemm-of-our-own), where ONNX Runtime's WASM build multiplies at 24–28 GFLOP/s per
 * thread on those shapes and this kernel at 42–44 (separate multiply and add) or 43–50 (relaxed SIMD's
 * `f32x4.relaxed_madd`), on a Zen 4 core (`npm run bench:vqgan-gemm`).
 *
 * Weights are packed once into panels of 8 columns (`packF32Panels`): for every k, the panel's 8 floats side by side.
 * A tile of `TILE_ROWS` rows × 8 columns keeps its accumulators in registers while the loop streams one panel: per k,
 * two vector loads of weights and one broadcast load per row feed 2 · TILE_ROWS multiply-adds.
 */
import { encodeModule, FunctionBody } from './wasm-binary.ts';
import { padTo } from './int8-gemm-kernel.ts';
import type { KernelModule } from './kernel-module.ts';

export const F32_PANEL_COLUMNS = 8;
/** Rows per tile: 4 measured best (6 rows ran at half the rate, out of registers). */
const TILE_ROWS = 4;
/**
 * Rows per block: the panels' loop runs over one block of rows at a time, so the block's activations (ROW_BLOCK · K
 * floats: 16–64 KB at the VQGAN's 128–512 channels) stay in cache while every panel streams past them once.
 */
const ROW_BLOCK = 32;

/**
 * The kernel's parameters, in order: byte offsets (`bias`: N floats every row starts from), then sizes; columns
 * [p0, p1) of the padded N are computed.
 */
const F32_GEMM_PARAMS = ['wp', 'x', 'bias', 'y', 'M', 'N', 'K', 'p0', 'p1'] as const;

/** A kernel as JavaScript calls it: byte offsets and sizes in, results in the memory. */
export type KernelFunction = (...args: number[]) => void;

/**
 * How a product is accumulated: `mul-add`, SIMD128's `f32x4.mul` then `f32x4.add` (everywhere); `relaxed-madd`,
 * relaxed SIMD's `f32x4.relaxed_madd`, fused where the CPU has FMA (then each product is rounded once, not twice:
 * results differ from `mul-add`'s in the last bits).
 */
export type F32Product = 'mul-add' | 'relaxed-madd';

/**
 * gemm(weights, x, bias, y, M, N, K, p0, p1): y = x · w + bias, x [M, K] row-major, y's rows N floats apart (N padded
 * to whole panels), columns [p0, p1) computed, p0 and p1 multiples of F32_PANEL_COLUMNS, so threads can share one call
 * by columns.
 */
export function f32GemmFunction(product: F32Product = 'mul-add'): FunctionBody {
  const f = new FunctionBody(F32_GEMM_PARAMS);
  for (const name of ['p', 'm', 'mb', 'mEnd', 'k4', 'K4', 'wq', 'y0']) f.local(name, 'i32');
  for (const name of ['w0', 'w1', 'a']) f.local(name, 'v128');
  const rows = [...Array(TILE_ROWS).keys()];
  const acc = (r: number, h: number) => `c${r}_${h}`;
  for (const r of rows) {
    f.local(`xp${r}`, 'i32');
    for (const h of [0, 1]) f.local(acc(r, h), 'v128');
  }
  // Row m + r of the tile, or row m past the block's last row (computed again, never stored).
  const tileRow = (r: number): void => {
    f.get('m').i32(r).op('add').get('m');
    f.get('m').i32(r).op('add').get('mEnd').op('lt_u').op('select');
  };

  // One tile: TILE_ROWS rows from m (rows past the block's end computed again from row m, never stored) × the panel.
  const tile = (): void => {
    for (const r of rows) {
      f.get('x');
      tileRow(r);
      f.get('K4').op('mul').op('add').set(`xp${r}`);
      for (const h of [0, 1])
        f.get('bias')
          .get('p')
          .i32(2)
          .op('shl')
          .op('add')
          .simd('v128.load', 16 * h)
          .set(acc(r, h));
    }
    // Panel p / 8 starts p / 8 · K · 8 floats in: p · K · 4 bytes.
    f.get('wp').get('p').get('K4').op('mul').op('add').set('wq');
    f.i32(0).set('k4');
    f.whileNot(
      () => f.get('k4').get('K4').op('ge_u'),
      () => {
        f.get('wq').simd('v128.load', 0).set('w0');
        f.get('wq').simd('v128.load', 16).set('w1');
        for (const r of rows) {
          f.get(`xp${r}`).get('k4').op('add').simd('v128.load32_splat', 0).set('a');
          for (const h of [0, 1]) {
            const c = acc(r, h);
            if (product === 'relaxed-madd') f.get('a').get(`w${h}`).get(c).simd('f32x4.relaxed_madd').set(c);
            else f.get('a').get(`w${h}`).simd('f32x4.mul').get(c).simd('f32x4.add').set(c);
          }
        }
        f.get('wq')
          .i32(4 * F32_PANEL_COLUMNS)
          .op('add')
          .set('wq');
        f.get('k4').i32(4).op('add').set('k4');
      },
    );
    f.get('y').get('m').get('N').op('mul').get('p').op('add').i32(2).op('shl').op('add').set('y0');
    for (const r of rows) {
      f.get('m').i32(r).op('add').get('mEnd').op('lt_u');
      f.ifThen(() => {
        for (const h of [0, 1]) {
          f.get('y0').i32(r).get('N').op('mul').i32(2).op('shl').op('add');
          f.get(acc(r, h)).simd('v128.store', 16 * h);
        }
      });
    }
    f.get('m').i32(TILE_ROWS).op('add').set('m');
  };

  f.get('K').i32(2).op('shl').set('K4');
  f.i32(0).set('mb');
  f.whileNot(
    () => f.get('mb').get('M').op('ge_u'),
    () => {
      // This block's rows: ROW_BLOCK, or what is left.
      f.get('mb').i32(ROW_BLOCK).op('add').get('M');
      f.get('mb').i32(ROW_BLOCK).op('add').get('M').op('lt_u').op('select').set('mEnd');
      f.get('p0').set('p');
      f.whileNot(
        () => f.get('p').get('p1').op('ge_u'),
        () => {
          f.get('mb').set('m');
          f.whileNot(
            () => f.get('m').get('mEnd').op('ge_u'),
            () => tile(),
          );
          f.get('p').i32(F32_PANEL_COLUMNS).op('add').set('p');
        },
      );
      f.get('mb').i32(ROW_BLOCK).op('add').set('mb');
    },
  );
  return f;
}

/**
 * The kernel as a module exporting `gemm`, over an imported memory (shared or not); null where this engine does not
 * compile it (`relaxed-madd` before relaxed SIMD: Node 20 without --experimental-wasm-relaxed-simd).
 */
export function compileF32Gemm(product: F32Product, memory: { shared: boolean }): WebAssembly.Module | null {
  const bytes = encodeModule({ gemm: f32GemmFunction(product) }, memory);
  return WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
}

/** Floats the panels of a [K, N] matrix take (N padded to whole panels). */
export function f32PanelFloats(K: number, N: number): number {
  return padTo(N, F32_PANEL_COLUMNS) * K;
}

/** w [K, N] row-major → the kernel's panels (padding columns 0) in `into`, which holds f32PanelFloats(K, N). */
export function packF32Panels(w: Float32Array, K: number, N: number, into: Float32Array): void {
  if (into.length < f32PanelFloats(K, N)) throw new Error('the panels need f32PanelFloats(K, N) floats');
  into.fill(0, 0, f32PanelFloats(K, N));
  // Plain loops: a subarray per row of a panel cost more than the copy.
  for (let p = 0; p < N; p += F32_PANEL_COLUMNS) {
    const width = Math.min(F32_PANEL_COLUMNS, N - p);
    for (let k = 0, to = p * K, from = p; k < K; k++, to += F32_PANEL_COLUMNS, from += N)
      for (let j = 0; j < width; j++) into[to + j] = w[from + j]!;
  }
}

/**
 * y = x · w + bias on `module`'s float GEMM added under `name` (f32GemmFunction), its columns shared out among the
 * module's threads by whole panels: wp, x, bias, y byte offsets, M rows, N (padded to whole panels) and K.
 */
export function runF32Gemm(module: KernelModule, name: string, ...[wp, x, bias, y, M, N, K]: GemmCall): void {
  if (N % F32_PANEL_COLUMNS !== 0) throw new Error(`the float GEMM takes whole panels of columns, not ${N}`);
  module.run(name, N / F32_PANEL_COLUMNS, F32_PANEL_COLUMNS, [wp, x, bias, y, M, N, K]);
}

type GemmCall = [wp: number, x: number, bias: number, y: number, M: number, N: number, K: number];
