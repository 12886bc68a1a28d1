/**
 * One 3×3 convolution (stride 1, padding 1, channels last) on our kernels as Winograd F(m×m, 3×3): the input
 * transform, a² float32 GEMMs by the transformed filters, the output transform with the bias (and a residual map)
 * added (docs/performance.md#a-3x3-convolution-on-our-kernels). Maps live in a KernelArena: the input padded (a pixel
 * of zeros before, the rest of the last tile after: paddedSide), the output written through a row stride, so it can
 * be the interior of the next layer's padded input. Each kernel takes a range of its work, so threads can share a call
 * (KernelModule.run).
 */
import { f32GemmFunction, f32PanelFloats, F32_PANEL_COLUMNS, runF32Gemm } from './f32-gemm-kernel.ts';
import type { F32Product } from './f32-gemm-kernel.ts';
import { padTo } from './int8-gemm-kernel.ts';
import { KernelArena } from './kernel-arena.ts';
import { KernelModule } from './kernel-module.ts';
import {
  filterQuadFloats,
  filterQuads,
  paddedSide,
  tapBytes,
  tilesPerSide,
  winogradFilterFunction,
  winogradInputFunction,
  winogradOutputFunction,
} from './winograd-kernels.ts';
import type { WinogradShape } from './winograd-kernels.ts';

/** A convolution's weights as stored: kernel [outputs, channels, 3, 3], bias [outputs]. */
export interface Conv3x3Weights {
  readonly kernel: Float32Array;
  readonly bias: Float32Array;
  readonly channels: number;
  readonly outputs: number;
}

/** Floats of transformed filters, GEMM operands and products a layer needs (scratch every layer of a decode shares). */
export function convScratchFloats(shape: WinogradShape, channels: number, outputs: number) {
  const taps = (shape.m + 2) ** 2;
  const tiles = tilesPerSide(shape) ** 2;
  return {
    filters: (taps * tapBytes(f32PanelFloats(channels, outputs))) / 4,
    operands: (taps * tapBytes(tiles * channels)) / 4,
    products: (taps * tapBytes(tiles * padTo(outputs, F32_PANEL_COLUMNS))) / 4,
  };
}

/**
 * Byte offsets of the scratch every layer uses in turn: its transformed filters (packed for the GEMM), the GEMM
 * operands and products, and a zero bias for the products.
 */
export interface ConvScratch {
  readonly filters: number;
  readonly operands: number;
  readonly products: number;
  readonly zeros: number;
}

/**
 * One layer: the constructor places its kernel (in quads: filterQuads) and bias and adds its kernels to `module`,
 * which must be built before `compute`. Every run transforms the filters first, into scratch all layers share: kept
 * transformed they would take (m + 2)²/9 of the kernel's memory (the mini VQGAN's arena 789 MiB with the layers on
 * maps of 32 and less keeping theirs, 451 with none; decodes within 1–2 % of each other:
 * docs/performance.md#the-vqgan-in-the-app).
 */
export class OwnConv3x3 {
  private readonly names: Record<'input' | 'output' | 'outputWithResidual' | 'gemm' | 'filters', string>;
  private readonly kernelAt: number;
  private readonly biasAt: number;
  private readonly paddedOutputs: number;
  readonly channels: number;
  readonly outputs: number;

  constructor(
    arena: KernelArena,
    private readonly module: KernelModule,
    weights: Conv3x3Weights,
    readonly shape: WinogradShape,
    private readonly scratch: ConvScratch,
    product: F32Product = 'mul-add',
  ) {
    const { channels: C, outputs: K } = weights;
    const { m, size } = shape;
    [this.channels, this.outputs] = [C, K];
    this.paddedOutputs = padTo(K, F32_PANEL_COLUMNS);
    const Kp = this.paddedOutputs;
    this.names = {
      input: module.add(`winogradInput_${m}_${size}_${C}`, () => winogradInputFunction(shape, C)),
      output: module.add(`winogradOutput_${m}_${size}_${K}`, () => winogradOutputFunction(shape, K, Kp, false)),
      outputWithResidual: module.add(`winogradOutputResidual_${m}_${size}_${K}`, () =>
        winogradOutputFunction(shape, K, Kp, true),
      ),
      filters: module.add(`winogradFilters_${m}_${C}_${K}`, () => winogradFilterFunction(m, C, K)),
      gemm: module.add(`gemm_${product}`, () => f32GemmFunction(product)),
    };
    this.kernelAt = arena.alloc(4 * filterQuadFloats(C, K));
    filterQuads(weights.kernel, C, K, arena.floats(this.kernelAt, filterQuadFloats(C, K)));
    this.biasAt = arena.alloc(4 * Kp);
    arena.floats(this.biasAt, K).set(weights.bias);
  }

  /**
   * y = conv3×3(x) + bias (+ residual): x the padded input's first byte (paddedSide² pixels, border zero), y the
   * output's pixel (0, 0) with rows yRow bytes apart, residual (0 for none) laid out as y.
   */
  compute(x: number, y: number, yRow: number, residual = 0): void {
    const { channels, scratch, paddedOutputs, names, module } = this;
    const t = tilesPerSide(this.shape);
    const tiles = t * t;
    // Threads share the filter transform by whole panels (two quads).
    module.run(names.filters, paddedOutputs / F32_PANEL_COLUMNS, 2, [this.kernelAt, scratch.filters]);
    module.run(names.input, t, 1, [x, scratch.operands]);
    const strides = [tiles * channels, tiles * paddedOutputs, f32PanelFloats(channels, this.outputs)].map(tapBytes);
    const [operandBytes, productBytes, panelBytes] = strides as [number, number, number];
    for (let tap = 0; tap < (this.shape.m + 2) ** 2; tap++) {
      const v = scratch.operands + tap * operandBytes;
      const products = scratch.products + tap * productBytes;
      const panels = scratch.filters + tap * panelBytes;
      runF32Gemm(module, names.gemm, panels, v, scratch.zeros, products, tiles, paddedOutputs, channels);
    }
    const output = residual ? names.outputWithResidual : names.output;
    module.run(output, t, 1, [scratch.products, this.biasAt, y, yRow, residual]);
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
      filters: arena.alloc(4 * floats.filters),
      operands: arena.alloc(4 * floats.operands),
      products: arena.alloc(4 * floats.products),
      zeros: arena.alloc(4 * padTo(weights.outputs, F32_PANEL_COLUMNS)),
    };
    const module = new KernelModule();
    this.conv = new OwnConv3x3(arena, module, weights, shape, scratch, product);
    const map = 4 * shape.size ** 2 * weights.outputs;
    this.at = {
      padded: arena.alloc(4 * paddedSide(shape) ** 2 * weights.channels),
      y: arena.alloc(map),
      residual: arena.alloc(map),
    };
    module.build(arena.memory);
  }

  run(x: Float32Array, residual?: Float32Array): Float32Array {
    const { size } = this.conv.shape;
    const { channels, outputs } = this.conv;
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
    const yRow = 4 * this.conv.shape.size * this.conv.outputs;
    this.conv.compute(this.at.padded, this.at.y, yRow, withResidual ? this.at.residual : 0);
  }
}
