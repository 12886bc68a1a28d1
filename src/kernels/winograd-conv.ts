/**
 * One 3×3 convolution (stride 1, padding 1, channels last) on our kernels as Winograd F(m×m, 3×3): the input
 * transform, a² float32 GEMMs by the transformed filters, the output transform with the bias (and a residual map)
 * added. The first layer of the VQGAN on our kernels (docs/performance.md#a-3x3-convolution-on-our-kernels); one
 * thread so far.
 */
import { WINOGRAD_TRANSFORMS } from '../model/winograd-transforms.ts';
import { compileF32GemmFunctions, f32PanelFloats, F32_PANEL_COLUMNS, packF32Panels } from './f32-gemm-kernel.ts';
import type { F32Product } from './f32-gemm-kernel.ts';
import { padTo } from './int8-gemm-kernel.ts';
import { paddedSide, tilesPerSide, winogradInputFunction, winogradOutputFunction } from './winograd-kernels.ts';
import type { WinogradShape } from './winograd-kernels.ts';

/** A convolution's weights as stored: kernel [outputs, channels, 3, 3], bias [outputs]. */
export interface Conv3x3Weights {
  readonly kernel: Float32Array;
  readonly bias: Float32Array;
  readonly channels: number;
  readonly outputs: number;
}

/** U[ξ·a + ν, c, k] = Σ_ij G[ξ, i] · g[k, c, i, j] · G[ν, j], in float64 and rounded once. */
export function transformFilters(weights: Conv3x3Weights, m: WinogradShape['m']): Float32Array {
  const { kernel, channels: C, outputs: K } = weights;
  const { G } = WINOGRAD_TRANSFORMS[m];
  const a = m + 2;
  const u = new Float32Array(a * a * C * K);
  const gg = new Float64Array(a * 3);
  for (let k = 0; k < K; k++) {
    for (let c = 0; c < C; c++) {
      const g = kernel.subarray((k * C + c) * 9, (k * C + c) * 9 + 9);
      // G·g: [a, 3]
      for (let xi = 0; xi < a; xi++)
        for (let j = 0; j < 3; j++)
          gg[xi * 3 + j] = G[xi]![0]! * g[j]! + G[xi]![1]! * g[3 + j]! + G[xi]![2]! * g[6 + j]!;
      for (let xi = 0; xi < a; xi++)
        for (let nu = 0; nu < a; nu++) {
          const row = G[nu]!;
          u[((xi * a + nu) * C + c) * K + k] =
            gg[xi * 3]! * row[0]! + gg[xi * 3 + 1]! * row[1]! + gg[xi * 3 + 2]! * row[2]!;
        }
    }
  }
  return u;
}

type Kernel = (...args: number[]) => void;

/** A 3×3 convolution over size × size maps in a memory of its own: x [size, size, C] → y [size, size, K]. */
export class OwnConv3x3 {
  private readonly memory: WebAssembly.Memory;
  private readonly input: Kernel;
  private readonly output: Kernel;
  private readonly outputWithResidual: Kernel;
  private readonly gemm: Kernel;
  private readonly at: Record<'panels' | 'bias' | 'padded' | 'operands' | 'products' | 'y' | 'residual', number>;
  private readonly paddedOutputs: number;

  constructor(
    private readonly weights: Conv3x3Weights,
    private readonly shape: WinogradShape,
    product: F32Product = 'mul-add',
  ) {
    const { channels: C, outputs: K } = weights;
    const { m, size } = shape;
    const taps = (m + 2) ** 2;
    const tiles = tilesPerSide(shape) ** 2;
    const side = paddedSide(shape);
    this.paddedOutputs = padTo(K, F32_PANEL_COLUMNS);
    const panelFloats = f32PanelFloats(C, K);
    const sizes = {
      panels: taps * panelFloats,
      bias: this.paddedOutputs,
      padded: side * side * C,
      operands: taps * tiles * C,
      products: taps * tiles * this.paddedOutputs,
      y: size * size * K,
      residual: size * size * K,
    };
    let floats = 0;
    const at = {} as Record<keyof typeof sizes, number>;
    for (const [name, n] of Object.entries(sizes) as [keyof typeof sizes, number][]) {
      at[name] = 4 * floats;
      floats += padTo(n, 4);
    }
    this.at = at;
    this.memory = new WebAssembly.Memory({ initial: Math.ceil((4 * floats) / 65536) });
    const exports = compileF32GemmFunctions(
      {
        input: winogradInputFunction(shape, C),
        output: winogradOutputFunction(shape, K, this.paddedOutputs, false),
        outputWithResidual: winogradOutputFunction(shape, K, this.paddedOutputs, true),
      },
      product,
      this.memory,
    );
    [this.input, this.output, this.outputWithResidual, this.gemm] = [
      exports.input!,
      exports.output!,
      exports.outputWithResidual!,
      exports.gemm!,
    ];
    const heap = new Float32Array(this.memory.buffer);
    const u = transformFilters(weights, m);
    for (let tap = 0; tap < taps; tap++) {
      const panels = heap.subarray(at.panels / 4 + tap * panelFloats, at.panels / 4 + (tap + 1) * panelFloats);
      packF32Panels(u.subarray(tap * C * K, (tap + 1) * C * K), C, K, panels);
    }
    heap.set(weights.bias, at.bias / 4);
  }

  /** y = conv3×3(x) + bias (+ residual), all [size, size, channels] channels last. */
  run(x: Float32Array, residual?: Float32Array): Float32Array {
    const { size } = this.shape;
    const { channels, outputs } = this.weights;
    const heap = new Float32Array(this.memory.buffer);
    const side = paddedSide(this.shape);
    // Rows into the padded map's interior; its border was zero from the start and is never written.
    for (let r = 0; r < size; r++) {
      const row = x.subarray(r * size * channels, (r + 1) * size * channels);
      heap.set(row, this.at.padded / 4 + ((r + 1) * side + 1) * channels);
    }
    if (residual) heap.set(residual, this.at.residual / 4);
    this.compute(residual !== undefined);
    return heap.slice(this.at.y / 4, this.at.y / 4 + size * size * outputs);
  }

  /** The kernels alone, on the padded map (and residual) already in memory: what a layer costs inside a decode. */
  compute(withResidual = false): void {
    const { m, size } = this.shape;
    const { channels, outputs } = this.weights;
    const { at, paddedOutputs } = this;
    const tiles = tilesPerSide(this.shape) ** 2;
    this.input(at.padded, at.operands);
    const panelBytes = 4 * f32PanelFloats(channels, outputs);
    for (let tap = 0; tap < (m + 2) ** 2; tap++) {
      const v = at.operands + 4 * tap * tiles * channels;
      const products = at.products + 4 * tap * tiles * paddedOutputs;
      this.gemm(at.panels + tap * panelBytes, v, products, tiles, paddedOutputs, channels, 0, paddedOutputs);
    }
    const yRow = 4 * size * outputs;
    if (withResidual) this.outputWithResidual(at.products, at.bias, at.y, yRow, at.residual);
    else this.output(at.products, at.bias, at.y, yRow, 0);
  }
}
