/**
 * A 3×3, stride 1, pad 1 convolution as Winograd F(m×m, 3×3) (Lavin & Gray, "Fast Algorithms for
 * Convolutional Neural Networks", 2015): an m×m output tile costs (m+2)² multiplies per input/output
 * channel pair instead of 9m², so the batched GEMMs in the middle do 2.25× (m = 2), 4× (m = 4) or
 * 5.06× (m = 6) less work than the direct convolution. onnxruntime-web's WASM convolution is an im2col +
 * 128-bit SIMD SGEMM (no blocked NCHWc kernels, no FMA), so there the VQGAN is compute bound
 * (docs/performance.md#vqgan-on-wasm).
 *
 * x [N, S, S, C] channels last, K output channels, a = m + 2, t = ⌈S/m⌉ tiles per side (a map that m does
 * not divide is padded to whole tiles and the output cropped):
 *   filter   U = G·g·Gᵀ              [a², C, K]      from the stored kernel, in every run (see runtimeOne)
 *   input    V = Bᵀ·d·B per tile      [a², N·t², C]   per axis: one Gather of the windows, one MatMul
 *   product  M = V × U                [a², N·t², K]   a² GEMMs
 *   output   Y = Aᵀ·M·A per tile      [N, S, S, K]    per axis one MatMul, then one Transpose into place
 * Every reorder moves contiguous runs (channel vectors or rows of them): onnxruntime-web's element-wise
 * transposes and strided slices cost as much as the GEMMs (docs/performance.md#vqgan-on-wasm).
 * Exact in real arithmetic; in float32 the result differs from the direct convolution by rounding
 * (tests/vqgan-winograd.test.ts).
 */
import type { GraphBuilder } from '../onnx/graph-builder.ts';
import { WINOGRAD_TRANSFORMS as TRANSFORMS } from '../../../src/model/winograd-transforms.ts';
import type { WinogradTile } from '../../../src/model/winograd-transforms.ts';

export type { WinogradTile };

/** Kronecker product P ⊗ Q as a flat row-major [rows(P)·rows(Q), cols(P)·cols(Q)] matrix, transposed if asked. */
function kron(p: readonly (readonly number[])[], q: readonly (readonly number[])[], transpose: boolean): number[] {
  const [pr, pc, qr, qc] = [p.length, p[0]!.length, q.length, q[0]!.length];
  const rows = pr * qr;
  const cols = pc * qc;
  const out = new Array<number>(rows * cols);
  for (let i = 0; i < pr; i++)
    for (let k = 0; k < qr; k++)
      for (let j = 0; j < pc; j++)
        for (let l = 0; l < qc; l++) {
          const [r, c] = [i * qr + k, j * qc + l];
          out[transpose ? c * rows + r : r * cols + c] = p[i]![j]! * q[k]![l]!;
        }
  return out;
}

/**
 * 1.0, computed from the batch size so that ONNX Runtime cannot constant-fold the filter transform:
 * folded, the transformed filters would sit in memory at (m + 2)²/9 times the kernels' size (4× for
 * m = 4, 7.1× for m = 6: +470 MB for the released VQGAN at m = 4 already broke WASM's 4 GiB heap beside the
 * DalleBart). Transforming per run costs ≈ 0.15 s of a ≈ 2.6 s WASM decode (docs/performance.md).
 */
export function runtimeOne(b: GraphBuilder, codes: string): string {
  const batch = b.cast(b.op('Shape', [codes], { start: { i: 0 }, end: { i: 1 } }), 'float32');
  return b.op('Min', [batch, b.constant('float32', [1], [1])]);
}

/**
 * Bᵀ along `axis` of x (padded, m·t + 2 long): tile j reads inputs m·j … m·j + m + 1. One Gather lays
 * the overlapping windows out tap-major ([a, t]: tap r of every tile, then r + 1; each index moves a
 * contiguous run) and one MatMul from the left transforms them, batched only over the axes before
 * `axis`: x's axis becomes [a, t] (reshaped by the caller), `rest` the flattened size after it.
 */
function transformAxis(b: GraphBuilder, x: string, axis: number, m: WinogradTile, t: number, rest: number): string {
  const { BT } = TRANSFORMS[m];
  const a = m + 2;
  const taps = Array.from({ length: a * t }, (_, i) => m * (i % t) + Math.floor(i / t));
  const windows = b.op('Gather', [x, b.int64s(taps)], { axis: { i: axis } });
  const shape = axis === 1 ? [0, a, t * rest] : [0, -1, a, t * rest];
  return b.op('MatMul', [b.constant('float32', [a, a], BT.flat()), b.op('Reshape', [windows, b.int64s(shape)])]);
}

/**
 * y = conv3×3(x, weight) + bias for x [N, size, size, cin], channels last (y too); `weight` a graph value
 * [cout, cin, 3, 3] (an initializer or a DequantizeLinear of one). `one` is a runtime 1.0 (see runtimeOne).
 */
export function winogradConv3x3(
  b: GraphBuilder,
  x: string,
  weight: string,
  bias: string,
  cin: number,
  cout: number,
  size: number,
  m: WinogradTile,
  one: string,
): string {
  // A size that m does not divide is padded up to whole tiles and the output cropped back.
  const t = Math.ceil(size / m);
  const tiled = m * t;
  const { G, AT } = TRANSFORMS[m];
  const a = m + 2;
  const a2 = a * a;
  // U[ξ·a + ν, c, k] = Σ G[ξ, i] g[k, c, i, j] G[ν, j]. The kernel goes to [c·9, k] by a 2-D transpose and
  // [c, a², k] comes back to [a², c, k] moving whole rows of k: ORT's general 3-D transpose (one element
  // at a time) was a fifth of the WASM decode for the 512-channel filters.
  const kernelRows = b.op('Transpose', [b.op('Reshape', [weight, b.int64s([cout, cin * 9])])], {
    perm: { ints: [1, 0] },
  });
  const filterMatrix = b.op('Mul', [b.constant('float32', [a2, 9], kron(G, G, false)), one]);
  const transformed = b.op('MatMul', [filterMatrix, b.op('Reshape', [kernelRows, b.int64s([cin, 9, cout])])]);
  const u = b.op('Transpose', [transformed], { perm: { ints: [1, 0, 2] } });
  // Channels last, so both axes' transforms are MatMuls from the left over whole channel vectors and
  // every reorder moves contiguous runs of channels: [N, side, side, C], side = m·t + 2
  // (1 before, the convolution's own padding; after it 1 more and whatever fills the last tile).
  const after = 1 + tiled - size;
  const padded = b.op('Pad', [x, b.int64s([0, 1, 1, 0, 0, after, after, 0])]);
  // Columns: [N, side, side, C] → [N, side, ν, tj, C]; rows: [N, side, a·t·C] → [N, ξ, ti, ν, tj, C].
  const columns = transformAxis(b, padded, 2, m, t, cin);
  const both = transformAxis(
    b,
    b.op('Reshape', [columns, b.int64s([0, tiled + 2, a * t * cin])]),
    1,
    m,
    t,
    a * t * cin,
  );
  // [N, ξ, ti, ν, tj, C] → V [ξ, ν, N, ti, tj, C] = [a², N·t², C], moving whole rows of tiles.
  const v = b.op('Reshape', [
    b.op('Transpose', [b.op('Reshape', [both, b.int64s([0, a, t, a, t, cin])])], {
      perm: { ints: [1, 3, 0, 2, 4, 5] },
    }),
    b.int64s([a2, -1, cin]),
  ]);
  const product = b.op('MatMul', [v, u]);
  // Aᵀ along ν, then along ξ: two MatMuls over [a, …], 240 multiplies per output tile (Aᵀ ⊗ Aᵀ at once: 576).
  const outputMatrix = b.constant('float32', [m, a], AT.flat());
  const alongNu = b.op('MatMul', [outputMatrix, b.op('Reshape', [product, b.int64s([a, a, -1])])]);
  const tiles = b.op('MatMul', [outputMatrix, b.op('Reshape', [alongNu, b.int64s([a, -1])])]);
  // [p, q, N, ti, tj, K] → [N, ti, p, tj, q, K]: output (p, q) of tile (ti, tj) is pixel (ti·m + p, tj·m + q).
  const placed = b.op('Transpose', [b.op('Reshape', [tiles, b.int64s([m, m, -1, t, t, cout])])], {
    perm: { ints: [2, 3, 0, 4, 1, 5] },
  });
  let y = b.op('Reshape', [placed, b.int64s([-1, tiled, tiled, cout])]);
  if (tiled !== size) y = b.op('Slice', [y, b.int64s([0, 0]), b.int64s([size, size]), b.int64s([1, 2])]);
  return b.op('Add', [y, bias]);
}
