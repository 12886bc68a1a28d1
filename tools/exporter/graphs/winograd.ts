/**
 * A 3×3, stride 1, pad 1 convolution as Winograd F(m×m, 3×3) (Lavin & Gray, "Fast Algorithms for
 * Convolutional Neural Networks", 2015): an m×m output tile costs (m+2)² multiplies per input/output
 * channel pair instead of 9m², so the batched GEMMs in the middle do 2.25× (m = 2) or 4× (m = 4)
 * less work than the direct convolution. onnxruntime-web's WASM convolution is an im2col +
 * 128-bit SIMD SGEMM (no blocked NCHWc kernels, no FMA), so there the VQGAN is compute bound
 * (docs/performance.md#vqgan-on-wasm).
 *
 * x [N, C, S, S] (S a multiple of m), K output channels, a = m + 2, t = S/m tiles per side:
 *   filter   U = G·g·Gᵀ              [a², C, K]      from the stored kernel, in every run (see runtimeOne)
 *   input    V = Bᵀ·d·B per tile      [a², C, N·t²]   per axis: one MatMul over blocks of m, two slices
 *   product  M = U × V                [a², K, N·t²]   a² GEMMs
 *   output   Y = Aᵀ·M·A per tile      [m², K, N·t²]   one MatMul, then one Transpose into place
 * Exact in real arithmetic; in float32 the result differs from the direct convolution by rounding
 * (tests/vqgan-winograd.test.ts).
 */
import type { GraphBuilder } from '../onnx/graph-builder.ts';

export type WinogradTile = 2 | 4;

interface Transforms {
  /** a × 3 */
  readonly G: readonly (readonly number[])[];
  /** a × a */
  readonly BT: readonly (readonly number[])[];
  /** m × a */
  readonly AT: readonly (readonly number[])[];
}

/** Lavin & Gray's matrices: interpolation points 0, ±1 (m = 2) and 0, ±1, ±2 (m = 4), plus ∞. */
const TRANSFORMS: Record<WinogradTile, Transforms> = {
  2: {
    G: [
      [1, 0, 0],
      [0.5, 0.5, 0.5],
      [0.5, -0.5, 0.5],
      [0, 0, 1],
    ],
    BT: [
      [1, 0, -1, 0],
      [0, 1, 1, 0],
      [0, -1, 1, 0],
      [0, 1, 0, -1],
    ],
    AT: [
      [1, 1, 1, 0],
      [0, 1, -1, -1],
    ],
  },
  4: {
    G: [
      [1 / 4, 0, 0],
      [-1 / 6, -1 / 6, -1 / 6],
      [-1 / 6, 1 / 6, -1 / 6],
      [1 / 24, 1 / 12, 1 / 6],
      [1 / 24, -1 / 12, 1 / 6],
      [0, 0, 1],
    ],
    BT: [
      [4, 0, -5, 0, 1, 0],
      [0, -4, -4, 1, 1, 0],
      [0, 4, -4, -1, 1, 0],
      [0, -2, -1, 2, 1, 0],
      [0, 2, -1, -2, 1, 0],
      [0, 4, 0, -5, 0, 1],
    ],
    AT: [
      [1, 1, 1, 1, 1, 0],
      [0, 1, -1, 2, -2, 0],
      [0, 1, 1, 4, 4, 0],
      [0, 1, -1, 8, -8, 1],
    ],
  },
};

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
 * m = 4, +470 MB for the released VQGAN, too much beside the DalleBart in WASM's 4 GiB heap).
 * Transforming per run costs ~1.4 GFLOP of the decode's ~250.
 */
export function runtimeOne(b: GraphBuilder, codes: string): string {
  const batch = b.cast(b.op('Shape', [codes], { start: { i: 0 }, end: { i: 1 } }), 'float32');
  return b.op('Min', [batch, b.constant('float32', [1], [1])]);
}

/**
 * Bᵀ along one axis split into t + 1 blocks of m: tile j reads inputs m·j … m·j + m + 1, all of block j
 * and the first two of block j + 1. Two MatMuls give every block's share in both roles; slicing
 * whole blocks (contiguous runs) and one add line them up. `last`: the blocks are x's last axis
 * ([…, t + 1, m] → […, t, a]); otherwise the second-to-last ([…, t + 1, m, w] → […, t, a, w]).
 */
function transformAxis(b: GraphBuilder, blocks: string, m: WinogradTile, t: number, last: boolean): string {
  const { BT } = TRANSFORMS[m];
  const a = m + 2;
  const share = (offset: number): string => {
    // [m, a]: block tap r → transformed ν, for taps offset + r of the tile (taps past m + 1 do not exist).
    const matrix: number[] = [];
    for (let r = 0; r < m; r++) for (let nu = 0; nu < a; nu++) matrix.push(offset + r < a ? BT[nu]![offset + r]! : 0);
    if (last) return b.op('MatMul', [blocks, b.constant('float32', [m, a], matrix)]);
    const transposed = Array.from({ length: a * m }, (_, i) => matrix[(i % m) * a + Math.floor(i / m)]!);
    return b.op('MatMul', [b.constant('float32', [a, m], transposed), blocks]);
  };
  const axis = b.int64s([last ? -2 : -3]);
  const own = b.op('Slice', [share(0), b.int64s([0]), b.int64s([t]), axis]);
  const next = b.op('Slice', [share(m), b.int64s([1]), b.int64s([t + 1]), axis]);
  return b.op('Add', [own, next]);
}

/**
 * y = conv3×3(x, weight) + bias for x [N, cin, size, size]; `weight` a graph value [cout, cin, 3, 3]
 * (an initializer or a DequantizeLinear of one). `one` is a runtime 1.0 (see runtimeOne).
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
  const t = size / m;
  if (!Number.isInteger(t))
    throw new Error(`Winograd F(${m}×${m}, 3×3) needs a map size divisible by ${m}, got ${size}`);
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
  // the reorder into GEMM operands moves contiguous runs: [N, side, side, C], side = m·(t + 1)
  // (1 before, the convolution's own padding; m − 1 after).
  const padded = b.op('Pad', [x, b.int64s([0, 0, 1, 1, 0, 0, m - 1, m - 1])]);
  const nhwc = b.op('Transpose', [padded], { perm: { ints: [0, 2, 3, 1] } });
  // Columns: [N, side, t + 1, m, C] → [N, side, tj, ν, C]; rows: [N, t + 1, m, t·a·C] → [N, ti, ξ, t·a·C].
  const columns = transformAxis(b, b.op('Reshape', [nhwc, b.int64s([0, -1, t + 1, m, cin])]), m, t, false);
  const both = transformAxis(b, b.op('Reshape', [columns, b.int64s([0, t + 1, m, t * a * cin])]), m, t, false);
  // [N, ti, ξ, tj, ν, C] → V [ξ, ν, N, ti, tj, C] = [a², N·t², C]
  const v = b.op('Reshape', [
    b.op('Transpose', [b.op('Reshape', [both, b.int64s([0, t, a, t, a, cin])])], {
      perm: { ints: [2, 4, 0, 1, 3, 5] },
    }),
    b.int64s([a2, -1, cin]),
  ]);
  const product = b.op('MatMul', [v, u]);
  const tiles = b.op('MatMul', [
    b.constant('float32', [m * m, a2], kron(AT, AT, false)),
    b.op('Reshape', [product, b.int64s([a2, -1])]),
  ]);
  // [p·m + q, N, ti·t + tj, K] → [N, (p·m + q)·K + k, ti, tj]: DepthToSpace's DCR order, which puts
  // output (p, q) of tile (ti, tj) at pixel (ti·m + p, tj·m + q).
  const channelsFirst = b.op('Transpose', [b.op('Reshape', [tiles, b.int64s([m * m, -1, t * t, cout])])], {
    perm: { ints: [1, 0, 3, 2] },
  });
  const y = b.op('DepthToSpace', [b.op('Reshape', [channelsFirst, b.int64s([-1, m * m * cout, t, t])])], {
    blocksize: { i: m },
    mode: { s: 'DCR' },
  });
  return b.op('Add', [y, b.op('Reshape', [bias, b.int64s([cout, 1, 1])])]);
}
