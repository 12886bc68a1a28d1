/**
 * One 3×3 convolution (stride 1, padding 1, channels last) on our kernels as Winograd F(m×m, 3×3): the input
 * transform, a² float32 GEMMs by the transformed filters, the output transform with the bias (and a residual map)
 * added (docs/performance.md#a-3x3-convolution-on-our-kernels). Maps live in a KernelArena: the input padded (a pixel
 * of zeros before, the rest of the last tile after: paddedSide), the output written through a row stride, so it can
 * be the interior of the next layer's padded input. One thread so far.
 */
import { WINOGRAD_TRANSFORMS } from '../model/winograd-transforms.ts';
import { compileF32GemmFunctions, f32PanelFloats, F32_PANEL_COLUMNS } from './f32-gemm-kernel.ts';
import type { F32Product } from './f32-gemm-kernel.ts';
import { padTo } from './int8-gemm-kernel.ts';
import { KernelArena } from './kernel-arena.ts';
import { paddedSide, tilesPerSide, winogradInputFunction, winogradOutputFunction } from './winograd-kernels.ts';
import type { WinogradShape } from './winograd-kernels.ts';

/** A convolution's weights as stored: kernel [outputs, channels, 3, 3], bias [outputs]. */
export interface Conv3x3Weights {
  readonly kernel: Float32Array;
  readonly bias: Float32Array;
  readonly channels: number;
  readonly outputs: number;
}

/**
 * The transformed filters U[ξ·a + ν, c, k] = Σ_ij G[ξ, i] · g[k, c, i, j] · G[ν, j] (in float64, rounded once), written
 * straight into the GEMM's panels, one set of f32PanelFloats(C, K) per tap: G·g·Gᵀ as one [a², 9] matrix (G ⊗ G)
 * applied to each 3 × 3 kernel, in plain loops over typed arrays.
 */
export function packTransformedFilters(weights: Conv3x3Weights, m: WinogradShape['m'], into: Float32Array): void {
  const { kernel, channels: C, outputs: K } = weights;
  const { G } = WINOGRAD_TRANSFORMS[m];
  const a = m + 2;
  const taps = a * a;
  const panelFloats = f32PanelFloats(C, K);
  if (into.length < taps * panelFloats) throw new Error('the panels need a² · f32PanelFloats(C, K) floats');
  into.fill(0, 0, taps * panelFloats);
  const gg = new Float64Array(taps * 9);
  for (let xi = 0; xi < a; xi++)
    for (let nu = 0; nu < a; nu++)
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 3; j++) gg[(xi * a + nu) * 9 + i * 3 + j] = G[xi]![i]! * G[nu]![j]!;
  for (let c = 0; c < C; c++) {
    for (let k = 0; k < K; k++) {
      const at = (k * C + c) * 9;
      const [g0, g1, g2] = [kernel[at]!, kernel[at + 1]!, kernel[at + 2]!];
      const [g3, g4, g5] = [kernel[at + 3]!, kernel[at + 4]!, kernel[at + 5]!];
      const [g6, g7, g8] = [kernel[at + 6]!, kernel[at + 7]!, kernel[at + 8]!];
      // Column k of row c in its panel: panel k / 8 holds C rows of 8.
      const place = (k >> 3) * C * F32_PANEL_COLUMNS + c * F32_PANEL_COLUMNS + (k & 7);
      for (let tap = 0, row = 0; tap < taps; tap++, row += 9) {
        into[tap * panelFloats + place] =
          gg[row]! * g0 +
          gg[row + 1]! * g1 +
          gg[row + 2]! * g2 +
          gg[row + 3]! * g3 +
          gg[row + 4]! * g4 +
          gg[row + 5]! * g5 +
          gg[row + 6]! * g6 +
          gg[row + 7]! * g7 +
          gg[row + 8]! * g8;
      }
    }
  }
}

/** Floats of GEMM operands and products a layer needs (scratch shared by every layer of a decode). */
export function convScratchFloats(shape: WinogradShape, channels: number, outputs: number) {
  const taps = (shape.m + 2) ** 2;
  const tiles = tilesPerSide(shape) ** 2;
  return { operands: taps * tiles * channels, products: taps * tiles * padTo(outputs, F32_PANEL_COLUMNS) };
}

/** Byte offsets of the scratch every layer uses in turn: operands, products, and a zero bias for the products. */
export interface ConvScratch {
  readonly operands: number;
  readonly products: number;
  readonly zeros: number;
}

type Kernel = (...args: number[]) => void;

export class OwnConv3x3 {
  private readonly input: Kernel;
  private readonly output: Kernel;
  private readonly outputWithResidual: Kernel;
  private readonly gemm: Kernel;
  private readonly panelsAt: number;
  private readonly biasAt: number;
  private readonly paddedOutputs: number;

  constructor(
    arena: KernelArena,
    readonly weights: Conv3x3Weights,
    readonly shape: WinogradShape,
    private readonly scratch: ConvScratch,
    product: F32Product = 'mul-add',
  ) {
    const { channels: C, outputs: K } = weights;
    const taps = (shape.m + 2) ** 2;
    this.paddedOutputs = padTo(K, F32_PANEL_COLUMNS);
    const panelFloats = f32PanelFloats(C, K);
    const exports = compileF32GemmFunctions(
      {
        input: winogradInputFunction(shape, C),
        output: winogradOutputFunction(shape, K, this.paddedOutputs, false),
        outputWithResidual: winogradOutputFunction(shape, K, this.paddedOutputs, true),
      },
      product,
      arena.memory,
    );
    [this.input, this.output, this.outputWithResidual, this.gemm] = [
      exports.input!,
      exports.output!,
      exports.outputWithResidual!,
      exports.gemm!,
    ];
    this.panelsAt = arena.alloc(4 * taps * panelFloats);
    this.biasAt = arena.alloc(4 * this.paddedOutputs);
    packTransformedFilters(weights, shape.m, arena.floats(this.panelsAt, taps * panelFloats));
    arena.floats(this.biasAt, K).set(weights.bias);
  }

  /**
   * y = conv3×3(x) + bias (+ residual): x the padded input's first byte (paddedSide² pixels, border zero), y the
   * output's pixel (0, 0) with rows yRow bytes apart, residual (0 for none) laid out as y.
   */
  compute(x: number, y: number, yRow: number, residual = 0): void {
    const { channels } = this.weights;
    const { scratch, paddedOutputs } = this;
    const tiles = tilesPerSide(this.shape) ** 2;
    this.input(x, scratch.operands);
    const panelBytes = 4 * f32PanelFloats(channels, this.weights.outputs);
    for (let tap = 0; tap < (this.shape.m + 2) ** 2; tap++) {
      const v = scratch.operands + 4 * tap * tiles * channels;
      const products = scratch.products + 4 * tap * tiles * paddedOutputs;
      const panels = this.panelsAt + tap * panelBytes;
      this.gemm(panels, v, scratch.zeros, products, tiles, paddedOutputs, channels, 0, paddedOutputs);
    }
    if (residual) this.outputWithResidual(scratch.products, this.biasAt, y, yRow, residual);
    else this.output(scratch.products, this.biasAt, y, yRow, 0);
  }
}

/** A convolution in an arena of its own, on plain [size, size, channels] arrays: for tests and benchmarks. */
export class StandaloneConv3x3 {
  readonly arena = new KernelArena();
  readonly conv: OwnConv3x3;
  private readonly at: { padded: number; y: number; residual: number };

  constructor(weights: Conv3x3Weights, shape: WinogradShape, product: F32Product = 'mul-add') {
    const { arena } = this;
    const floats = convScratchFloats(shape, weights.channels, weights.outputs);
    const scratch = {
      operands: arena.alloc(4 * floats.operands),
      products: arena.alloc(4 * floats.products),
      zeros: arena.alloc(4 * padTo(weights.outputs, F32_PANEL_COLUMNS)),
    };
    this.conv = new OwnConv3x3(arena, weights, shape, scratch, product);
    const map = 4 * shape.size ** 2 * weights.outputs;
    this.at = {
      padded: arena.alloc(4 * paddedSide(shape) ** 2 * weights.channels),
      y: arena.alloc(map),
      residual: arena.alloc(map),
    };
  }

  run(x: Float32Array, residual?: Float32Array): Float32Array {
    const { size } = this.conv.shape;
    const { channels, outputs } = this.conv.weights;
    const side = paddedSide(this.conv.shape);
    const padded = this.arena.floats(this.at.padded, side * side * channels);
    // Rows into the padded map's interior; its border was zero from the start and is never written.
    for (let r = 0; r < size; r++)
      padded.set(x.subarray(r * size * channels, (r + 1) * size * channels), ((r + 1) * side + 1) * channels);
    if (residual) this.arena.floats(this.at.residual, residual.length).set(residual);
    this.compute(residual !== undefined);
    return this.arena.floats(this.at.y, size * size * outputs).slice();
  }

  /** The kernels alone, on the input already in place: what the layer costs inside a decode. */
  compute(withResidual = false): void {
    const yRow = 4 * this.conv.shape.size * this.conv.weights.outputs;
    this.conv.compute(this.at.padded, this.at.y, yRow, withResidual ? this.at.residual : 0);
  }
}
