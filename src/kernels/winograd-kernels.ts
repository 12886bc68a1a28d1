/**
 * Winograd F(m×m, 3×3)'s input, output and filter transforms as WebAssembly, for maps stored channels last (a pixel's
 * channels side by side), four channels per SIMD vector. Each function is written for one layer's shape, so every
 * offset inside a tile is an immediate and the a × a tile lives in locals: the transforms are sums of a few terms
 * with constant weights (docs/performance.md#a-3x3-convolution-on-our-kernels). Each takes a range of its work last
 * (tile rows, or quads of outputs), so threads can share a call.
 */
import { f32PanelFloats } from './f32-gemm-kernel.ts';
import { FunctionBody } from './wasm-binary.ts';
import { WINOGRAD_TRANSFORMS } from '../model/winograd-transforms.ts';
import type { WinogradTile } from '../model/winograd-transforms.ts';

/** One layer's tiling: a size × size map in tiles of m, t per side (the last ones cropped where m does not divide). */
export interface WinogradShape {
  readonly m: WinogradTile;
  readonly size: number;
}

export const tilesPerSide = ({ m, size }: WinogradShape): number => Math.ceil(size / m);

/**
 * Bytes from one tap's block of `floats` to the next (GEMM operands, products, transformed filters): the block and one
 * cache line more. A transform step reads or writes every tap's block at once, and blocks a multiple of 4 KiB apart
 * (64 tiles of any channels, a 256 × 256 layer's filters: 256 KiB) put all (m + 2)² accesses in one L1 set: the filter
 * transforms of a mini VQGAN decode (its 22 layers on maps of 64 and more) took 117 ms on one thread, 25 a line apart.
 */
export const tapBytes = (floats: number): number => 4 * floats + 64;
/** Side of the padded input a layer reads: 1 pixel of the convolution's padding before, the rest after. */
export const paddedSide = (shape: WinogradShape): number => tilesPerSide(shape) * shape.m + 2;

/** Pushes Σ_t weights[t] · value(t) for weights of any sign, zero weights skipped (at least one is nonzero). */
function weightedSum(f: FunctionBody, weights: readonly number[], value: (t: number) => void): void {
  let first = true;
  weights.forEach((w, t) => {
    if (w === 0) return;
    value(t);
    if (first) {
      if (w !== 1) f.f32x4(w).simd('f32x4.mul');
      first = false;
      return;
    }
    if (Math.abs(w) !== 1) f.f32x4(Math.abs(w)).simd('f32x4.mul');
    f.simd(w < 0 ? 'f32x4.sub' : 'f32x4.add');
  });
}

/**
 * winogradInput(x, v, ty0, ty1): V[ξ·a + ν, tile, c] = (Bᵀ·d·B)[ξ, ν] for every tile in tile rows [ty0, ty1) and
 * every channel, where d is the tile's a × a window of the padded map x ([paddedSide, paddedSide, channels], x pointing
 * at its first pixel) and V the a² GEMM operands [a², t², channels], tiles in rows.
 */
export function winogradInputFunction(shape: WinogradShape, channels: number): FunctionBody {
  if (channels % 4 !== 0) throw new Error('the input transform takes channels in fours');
  const { m } = shape;
  const a = m + 2;
  const t = tilesPerSide(shape);
  const side = paddedSide(shape);
  const pixel = 4 * channels;
  const tapStride = tapBytes(t * t * channels);
  const { BT } = WINOGRAD_TRANSFORMS[m];
  const f = new FunctionBody(['x', 'v', 'ty0', 'ty1']);
  for (const name of ['ty', 'tx', 'c', 'src', 'dst']) f.local(name, 'i32');
  const d = (i: number, j: number) => `d${i}_${j}`;
  const rowsDone = (i: number, j: number) => `r${i}_${j}`;
  for (let i = 0; i < a; i++) for (let j = 0; j < a; j++) f.local(d(i, j), 'v128');
  for (let i = 0; i < a; i++) for (let j = 0; j < a; j++) f.local(rowsDone(i, j), 'v128');
  f.forRange(
    'ty',
    'ty1',
    1,
    () =>
      f.forRange('tx', t, 1, () =>
        f.forRange('c', pixel, 16, () => {
          // src: the window's first pixel, channel c; dst: tap 0 of this tile, channel c.
          f.get('x')
            .get('ty')
            .i32(m * side * pixel)
            .op('mul')
            .op('add');
          f.get('tx')
            .i32(m * pixel)
            .op('mul')
            .op('add')
            .get('c')
            .op('add')
            .set('src');
          f.get('v').get('ty').i32(t).op('mul').get('tx').op('add').i32(pixel).op('mul').op('add');
          f.get('c').op('add').set('dst');
          for (let i = 0; i < a; i++)
            for (let j = 0; j < a; j++)
              f.get('src')
                .simd('v128.load', (i * side + j) * pixel)
                .set(d(i, j));
          // Bᵀ·d: row ξ of the result combines the window's rows; then (Bᵀ·d)·B combines that result's columns.
          for (let xi = 0; xi < a; xi++)
            for (let j = 0; j < a; j++) {
              weightedSum(f, BT[xi]!, (k) => f.get(d(k, j)));
              f.set(rowsDone(xi, j));
            }
          for (let xi = 0; xi < a; xi++)
            for (let nu = 0; nu < a; nu++) {
              f.get('dst');
              weightedSum(f, BT[nu]!, (k) => f.get(rowsDone(xi, k)));
              f.simd('v128.store', (xi * a + nu) * tapStride);
            }
        }),
      ),
    'ty0',
  );
  return f;
}

/**
 * winogradOutput(mm, bias, y, yRow, residual, ty0, ty1): y = (Aᵀ·M·A) + bias (+ residual) for every tile in tile
 * rows [ty0, ty1), M the a² GEMM results
 * [a², t², paddedOutputs] (tiles in rows), y the output map channels last (pointing at pixel (0, 0), rows yRow bytes
 * apart, `outputs` channels per pixel); tiles past the map's edge are cropped. With `residual`, that map (same layout
 * as y) is added.
 */
export function winogradOutputFunction(
  shape: WinogradShape,
  outputs: number,
  paddedOutputs: number,
  residual: boolean,
): FunctionBody {
  if (outputs % 4 !== 0) throw new Error('the output transform writes channels in fours');
  const { m, size } = shape;
  const a = m + 2;
  const t = tilesPerSide(shape);
  const pixel = 4 * outputs;
  const tapStride = tapBytes(t * t * paddedOutputs);
  const { AT } = WINOGRAD_TRANSFORMS[m];
  const f = new FunctionBody(['mm', 'bias', 'y', 'yRow', 'res', 'ty0', 'ty1']);
  for (const name of ['ty', 'tx', 'k', 'src', 'dst', 'rows', 'cols', 'at']) f.local(name, 'i32');
  f.local('b', 'v128');
  const p = (xi: number, nu: number) => `p${xi}_${nu}`;
  const q = (i: number, nu: number) => `q${i}_${nu}`;
  for (let xi = 0; xi < a; xi++) for (let nu = 0; nu < a; nu++) f.local(p(xi, nu), 'v128');
  for (let i = 0; i < m; i++) for (let nu = 0; nu < a; nu++) f.local(q(i, nu), 'v128');
  // min(m, size − first) for a tile starting at `first`: how many of its rows (or columns) are inside the map.
  const kept = (tile: string, into: string): void => {
    for (let twice = 0; twice < 2; twice++) f.i32(m).i32(size).get(tile).i32(m).op('mul').op('sub');
    f.op('lt_u').op('select').set(into);
  };
  f.forRange(
    'ty',
    'ty1',
    1,
    () => {
      kept('ty', 'rows');
      f.forRange('tx', t, 1, () => {
        kept('tx', 'cols');
        f.forRange('k', pixel, 16, () => {
          f.get('mm')
            .get('ty')
            .i32(t)
            .op('mul')
            .get('tx')
            .op('add')
            .i32(4 * paddedOutputs)
            .op('mul')
            .op('add');
          f.get('k').op('add').set('src');
          for (let xi = 0; xi < a; xi++)
            for (let nu = 0; nu < a; nu++)
              f.get('src')
                .simd('v128.load', (xi * a + nu) * tapStride)
                .set(p(xi, nu));
          for (let i = 0; i < m; i++)
            for (let nu = 0; nu < a; nu++) {
              weightedSum(f, AT[i]!, (xi) => f.get(p(xi, nu)));
              f.set(q(i, nu));
            }
          f.get('bias').get('k').op('add').simd('v128.load', 0).set('b');
          // The tile's first pixel, channel k, as a byte offset from y (and from the residual map).
          f.get('ty').i32(m).op('mul').get('yRow').op('mul');
          f.get('tx')
            .i32(m * pixel)
            .op('mul')
            .op('add')
            .get('k')
            .op('add')
            .set('at');
          for (let i = 0; i < m; i++) {
            f.i32(i).get('rows').op('lt_u');
            f.ifThen(() => {
              for (let j = 0; j < m; j++) {
                f.i32(j).get('cols').op('lt_u');
                f.ifThen(() => {
                  f.get('y').get('at').op('add');
                  if (i > 0) f.get('yRow').i32(i).op('mul').op('add');
                  f.set('dst');
                  f.get('dst');
                  weightedSum(f, AT[j]!, (nu) => f.get(q(i, nu)));
                  f.get('b').simd('f32x4.add');
                  if (residual) {
                    f.get('res').get('at').op('add');
                    if (i > 0) f.get('yRow').i32(i).op('mul').op('add');
                    f.simd('v128.load', j * pixel).simd('f32x4.add');
                  }
                  f.simd('v128.store', j * pixel);
                });
              }
            });
          }
        });
      });
    },
    'ty0',
  );
  return f;
}

/**
 * winogradFilters(w, panels, q0, q1): the transformed filters U[ξ·a + ν, c, k] = Σ_ij G[ξ, i] · g[k, c, i, j] · G[ν, j]
 * of one layer's outputs in quads [q0, q1) (four outputs each, whole panels: q0 and q1 even), written straight into the
 * float GEMM's panels (one set of `panelFloats` per tap; f32-gemm-kernel.ts), from the kernel laid out in quads,
 * [quads][channels][9][4] (filterQuads): each step reads one channel's 9 taps of four outputs, 144 bytes in a row, and
 * writes each tap's four values beside the last channel's, so both sides stream (laid out [channels][9][outputs], the
 * next channel's values went beside a step's only K/4 steps later: 136–154 → 117 ms of a one-thread decode).
 */
export function winogradFilterFunction(m: WinogradTile, channels: number, outputs: number): FunctionBody {
  const { G } = WINOGRAD_TRANSFORMS[m];
  const a = m + 2;
  const panelFloats = f32PanelFloats(channels, outputs);
  const f = new FunctionBody(['w', 'panels', 'q0', 'q1']);
  for (const name of ['q', 'c', 'src', 'dst']) f.local(name, 'i32');
  for (let t = 0; t < 9; t++) f.local(`g${t}`, 'v128');
  f.forRange(
    'q',
    'q1',
    1,
    () => {
      // Quad q's first channel: its 9 taps in the kernel; in the panels, panel q / 2's first row, half q % 2.
      f.get('w')
        .get('q')
        .i32(channels * 9 * 16)
        .op('mul')
        .op('add')
        .set('src');
      f.get('panels')
        .get('q')
        .i32(1)
        .op('shr_u')
        .i32(32 * channels)
        .op('mul')
        .op('add');
      f.get('q').i32(1).op('and').i32(16).op('mul').op('add').set('dst');
      f.forRange('c', channels, 1, () => {
        for (let t = 0; t < 9; t++)
          f.get('src')
            .simd('v128.load', t * 16)
            .set(`g${t}`);
        for (let xi = 0; xi < a; xi++)
          for (let nu = 0; nu < a; nu++) {
            const weights = Array.from({ length: 9 }, (_, t) => G[xi]![Math.floor(t / 3)]! * G[nu]![t % 3]!);
            f.get('dst');
            weightedSum(f, weights, (t) => f.get(`g${t}`));
            f.simd('v128.store', (xi * a + nu) * tapBytes(panelFloats));
          }
        f.get('src')
          .i32(9 * 16)
          .op('add')
          .set('src');
        f.get('dst').i32(32).op('add').set('dst');
      });
    },
    'q0',
  );
  return f;
}

/** Floats of a kernel laid out in quads (filterQuads): outputs padded to whole panels. */
export const filterQuadFloats = (channels: number, outputs: number): number => f32PanelFloats(channels, outputs) * 9;

/**
 * A 3×3 kernel [outputs, channels, 3, 3] laid out [quads][channels][9][4] (quad q: outputs 4q … 4q + 3) as the filter
 * transform reads it, into `into` (filterQuadFloats; its padding outputs zero).
 */
export function filterQuads(kernel: Float32Array, channels: number, outputs: number, into: Float32Array): void {
  const C = channels;
  into.fill(0, 0, filterQuadFloats(C, outputs));
  for (let k = 0; k < outputs; k++) {
    const base = (k >> 2) * C * 36 + (k & 3);
    for (let c = 0, from = k * C * 9; c < C; c++)
      for (let t = 0, to = base + c * 36; t < 9; t++, to += 4, from++) into[to] = kernel[from]!;
  }
}
