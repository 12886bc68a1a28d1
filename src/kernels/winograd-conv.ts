/**
 * One 3×3 convolution (stride 1, padding 1, channels last) on our kernels as Winograd F(m×m, 3×3): the input
 * transform, a² float32 GEMMs by the transformed filters, the output transform with the bias (and a residual map)
 * added (docs/performance.md#a-3x3-convolution-on-our-kernels). Maps live in a KernelArena: the input padded (a pixel
 * of zeros before, the rest of the last tile after: paddedSide), the output written through a row stride, so it can
 * be the interior of the next layer's padded input. One thread so far.
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

/**
 * Whether a layer transforms its filters before every run, into scratch all layers share, rather than keeping them:
 * they take (m + 2)²/9 times the kernel's memory (964 MiB of arena for the mini VQGAN with all kept), while
 * transforming costs 9 multiply-adds per filter value against the GEMM's one per tile, so only layers of ≥ 100 tiles
 * (in the VQGAN, maps of 64 and more at F(6×6): ≥ 121 tiles, ≤ 7.5 % more work) transform each run.
 */
export const transformsEachRun = (shape: WinogradShape): boolean => tilesPerSide(shape) ** 2 >= 100;

/** Floats of transformed filters, GEMM operands and products a layer needs (scratch every layer of a decode shares). */
export function convScratchFloats(shape: WinogradShape, channels: number, outputs: number) {
  const taps = (shape.m + 2) ** 2;
  const tiles = tilesPerSide(shape) ** 2;
  return {
    filters: (taps * tapBytes(f32PanelFloats(channels, outputs))) / 4,
    // Also where a kept layer's kernel waits to be transformed.
    operands: Math.max((taps * tapBytes(tiles * channels)) / 4, filterQuadFloats(channels, outputs)),
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
 * One layer, in two steps: the constructor places its weights and adds its kernels to `module`; once the module is
 * built, `prepare` transforms the filters of a layer that keeps them (one at a time: they pass through shared scratch).
 */
export class OwnConv3x3 {
  private readonly names: Record<'input' | 'output' | 'outputWithResidual' | 'gemm' | 'filters', string>;
  private readonly kernelAt: number;
  /** Where the GEMM reads this layer's transformed filters: kept, or the shared scratch they go to before each run. */
  private readonly panelsAt: number;
  private readonly transformsEachRun: boolean;
  private readonly biasAt: number;
  private readonly paddedOutputs: number;
  readonly channels: number;
  readonly outputs: number;
  /** A kept layer's kernel until `prepare` transforms it. */
  private pending: Conv3x3Weights | null = null;

  constructor(
    private readonly arena: KernelArena,
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
    this.transformsEachRun = transformsEachRun(shape);
    if (this.transformsEachRun) {
      this.kernelAt = arena.alloc(4 * filterQuadFloats(C, K));
      this.panelsAt = scratch.filters;
      filterQuads(weights.kernel, C, K, arena.floats(this.kernelAt, filterQuadFloats(C, K)));
    } else {
      // Kept transformed: the kernel passes through the operands' scratch on its way, in `prepare`.
      this.kernelAt = scratch.operands;
      this.panelsAt = arena.alloc(4 * convScratchFloats(shape, C, K).filters);
      this.pending = weights;
    }
    this.biasAt = arena.alloc(4 * Kp);
    arena.floats(this.biasAt, K).set(weights.bias);
  }

  /** Transforms a kept layer's filters (the module built; nothing else using the operands' scratch). */
  prepare(): void {
    if (!this.pending) return;
    const { channels: C, outputs: K } = this;
    filterQuads(this.pending.kernel, C, K, this.arena.floats(this.kernelAt, filterQuadFloats(C, K)));
    this.runFilters(this.panelsAt);
    this.pending = null;
  }

  /** The filter transform into `panelsAt`, threads sharing it by whole panels (two quads). */
  private runFilters(panelsAt: number): void {
    this.module.run(this.names.filters, this.paddedOutputs / F32_PANEL_COLUMNS, 2, [this.kernelAt, panelsAt]);
  }

  /**
   * y = conv3×3(x) + bias (+ residual): x the padded input's first byte (paddedSide² pixels, border zero), y the
   * output's pixel (0, 0) with rows yRow bytes apart, residual (0 for none) laid out as y.
   */
  compute(x: number, y: number, yRow: number, residual = 0): void {
    if (this.pending) throw new Error('a 3×3 convolution ran before its filters were prepared');
    const { channels, scratch, paddedOutputs, names, module } = this;
    const t = tilesPerSide(this.shape);
    const tiles = t * t;
    if (this.transformsEachRun) this.runFilters(scratch.filters);
    module.run(names.input, t, 1, [x, scratch.operands]);
    const strides = [tiles * channels, tiles * paddedOutputs, f32PanelFloats(channels, this.outputs)].map(tapBytes);
    const [operandBytes, productBytes, panelBytes] = strides as [number, number, number];
    for (let tap = 0; tap < (this.shape.m + 2) ** 2; tap++) {
      const v = scratch.operands + tap * operandBytes;
      const products = scratch.products + tap * productBytes;
      const panels = this.panelsAt + tap * panelBytes;
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
    this.conv.prepare();
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
