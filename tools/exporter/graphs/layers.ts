/** Building blocks shared by the DalleBart graphs: weights in the export dtype, norms, GELU, GLU. */
import type { GraphBuilder } from '../onnx/graph-builder.ts';
import { MS_DOMAIN, TensorType } from '../onnx/onnx-types.ts';
import { float32ToFloat16 } from '../../../src/model/half.ts';
import { computeType } from './precision.ts';
import type { ComputeType, ExportDtype } from './precision.ts';
import { Q4_BLOCK, quantizeInt8PerColumn, quantizeInt8PerRow, quantizeQ4Blockwise } from './quantize.ts';

/** How a q8 linear layer multiplies (docs/model-format.md#int8-activations). */
export type Q8Matmul = 'dequantize' | 'int8-activations';

/**
 * How a quantized embedding picks its rows: `int8-rows` gathers the int8 rows and scales them (the CPU runtimes'),
 * `float-table` gathers from the whole table cast and scaled first, which ONNX Runtime folds into a float32 table at
 * load (WebGPU has no int8 Gather kernel: the graph it captures, docs/model-format.md#graph-capture),
 * `dequantized-table` from the table dequantized per row by a `DequantizeLinear` of weights, which the weight-inputs
 * graph lifts out with the linear layers' (docs/model-format.md#weights-dequantized-once). The same values each way:
 * each element is cast and multiplied by its row's scale once.
 */
export type EmbeddingLookup = 'int8-rows' | 'float-table' | 'dequantized-table';

/**
 * Which runtimes load a file: `any`, the files CPUs load (WebGPU loads the fp32 and fp16 decoders too), or `webgpu`,
 * the decoder files only WebGPU loads (q8's and q4's `captureFile`, q8's `weightInputsFile`), written for
 * onnxruntime-web's WebGPU kernels (docs/model-format.md#layer-norm):
 *  - norms as com.microsoft's SkipLayerNormalization: its LayerNormalization kernel gives each row one thread, so a
 *    step's 2–18 rows leave the GPU idle (≈ 240 µs a norm on an H200, over half the step); SkipLayerNormalization
 *    reduces each row across a workgroup. On the CPU it is the slower kernel (+13 % on a 9-image step natively).
 *  - fewer kernels: the residual add before a norm goes into it (addNorm), GELU is com.microsoft's `Gelu`, and the
 *    cross-attention needs no transposes. ONNX Runtime fuses none of these for WebGPU, where every kernel is
 *    dispatched from JavaScript at every step: with the norms fixed, that was most of a captured H200 step.
 */
export type GraphTarget = 'any' | 'webgpu';

export class Layers {
  readonly compute: ComputeType;
  /** Row-quantized activations by the value they quantize: projections of one input share them. */
  private readonly quantizedRows = new Map<string, { rows: string; maxima: string }>();

  constructor(
    readonly b: GraphBuilder,
    readonly dtype: ExportDtype,
    readonly q8Matmul: Q8Matmul = 'dequantize',
    readonly embeddingLookup: EmbeddingLookup = 'int8-rows',
    readonly target: GraphTarget = 'any',
  ) {
    this.compute = computeType(dtype);
  }

  /** A float tensor (norm parameters, position tables) stored in the compute type. */
  floatTensor(name: string, dims: readonly number[], data: Float32Array): string {
    return this.compute === 'float16'
      ? this.b.initializer(name, 'float16', dims, float32ToFloat16(data))
      : this.b.initializer(name, 'float32', dims, data);
  }

  scalar(value: number): string {
    return this.b.scalar(this.compute, value);
  }

  /**
   * x · W for a flax [in, out] kernel, in the export dtype's weight format. `outputScale`, a power of two, multiplies
   * the product: in a quantized format through the weights' scales, which is exact (the same integers, every scale
   * times a power of two), so it costs no kernel.
   */
  linear(x: string, name: string, kernel: Float32Array, inDim: number, outDim: number, outputScale = 1): string {
    const { b } = this;
    if (!Number.isInteger(Math.log2(outputScale))) throw new Error(`${name}: output scale ${outputScale} is inexact`);
    const scaled = (values: Float32Array): Float32Array =>
      outputScale === 1 ? values : values.map((value) => value * outputScale);
    if (this.dtype === 'q4') {
      const { packed, scales, blocks } = quantizeQ4Blockwise(kernel, inDim, outDim);
      const weightsQ4 = b.initializer(`${name}.q4`, 'uint8', [outDim, blocks, Q4_BLOCK / 2], packed);
      const blockScales = b.initializer(`${name}.scales`, 'float32', [outDim * blocks], scaled(scales));
      return b.op(
        'MatMulNBits',
        [x, weightsQ4, blockScales],
        { K: { i: inDim }, N: { i: outDim }, bits: { i: 4 }, block_size: { i: Q4_BLOCK } },
        MS_DOMAIN,
      );
    }
    if (this.dtype === 'q8') {
      const { q, scales } = quantizeInt8PerColumn(kernel, inDim, outDim);
      const weightsQ8 = b.initializer(`${name}.q8`, 'int8', [inDim, outDim], q);
      const outputScales = b.initializer(`${name}.scales`, 'float32', [outDim], scaled(scales));
      if (this.q8Matmul === 'int8-activations') return this.int8Linear(x, weightsQ8, outputScales);
      const zeroPoints = b.initializer(`${name}.zero`, 'int8', [outDim], new Int8Array(outDim));
      return b.op('MatMul', [x, b.op('DequantizeLinear', [weightsQ8, outputScales, zeroPoints], { axis: { i: 1 } })]);
    }
    return b.op('MatMul', [x, this.floatTensor(name, [inDim, outDim], scaled(kernel))]);
  }

  /**
   * x · W with int8 weights and int8 activations: each row of x is divided by its own absolute maximum and stored
   * as uint8 around 128 (127 steps each way); ONNX Runtime's MatMulIntegerToFloat multiplies in integers (its CPU
   * kernels pack the int8 weights once at load) and applies the column scales; the row maxima are applied after.
   * Rows stay independent of each other (no scale shared across images or the unconditioned rows).
   */
  private int8Linear(x: string, weightsQ8: string, outputScales: string): string {
    const { b } = this;
    const step = this.scalar(1 / 127);
    const center = b.constant('uint8', [], [128]);
    let quantized = this.quantizedRows.get(x);
    if (!quantized) {
      const rowMax = b.op('ReduceMax', [b.op('Abs', [x])], { axes: { ints: [-1] }, keepdims: { i: 1 } });
      // A row of zeros gets a tiny maximum rather than a division by zero.
      const maxima = b.op('Max', [rowMax, this.scalar(1e-30)]);
      const rows = b.op('QuantizeLinear', [b.op('Div', [x, maxima]), step, center]);
      quantized = { rows, maxima };
      this.quantizedRows.set(x, quantized);
    }
    const product = b.op(
      'MatMulIntegerToFloat',
      [quantized.rows, weightsQ8, step, outputScales, center],
      {},
      MS_DOMAIN,
    );
    return b.op('Mul', [product, quantized.maxima]);
  }

  /** Rows of an embedding table picked by integer ids; quantized dtypes keep int8 rows + a scale per row. */
  embedding(ids: string, name: string, table: Float32Array, rows: number, cols: number): string {
    const { b } = this;
    if (this.dtype === 'q8' || this.dtype === 'q4') {
      const { q, scales } = quantizeInt8PerRow(table, rows, cols);
      const tableQ8 = b.initializer(`${name}.q8`, 'int8', [rows, cols], q);
      if (this.embeddingLookup === 'dequantized-table') {
        // The same scale bytes as [rows]: DequantizeLinear's per-axis scales are one-dimensional.
        const scales1d = b.initializer(`${name}.scales`, 'float32', [rows], scales);
        const zeroPoints = b.initializer(`${name}.zero`, 'int8', [rows], new Int8Array(rows));
        const table = b.op('DequantizeLinear', [tableQ8, scales1d, zeroPoints], { axis: { i: 0 } });
        return b.op('Gather', [table, ids]);
      }
      const rowScales = b.initializer(`${name}.scales`, 'float32', [rows, 1], scales);
      // Not DequantizeLinear, which ORT leaves unfolded on weights: WebGPU would dequantize the table every step.
      if (this.embeddingLookup === 'float-table')
        return b.op('Gather', [b.op('Mul', [b.cast(tableQ8, 'float32'), rowScales]), ids]);
      const picked = b.cast(b.op('Gather', [tableQ8, ids]), 'float32');
      return b.op('Mul', [picked, b.op('Gather', [rowScales, ids])]);
    }
    return b.op('Gather', [this.floatTensor(name, [rows, cols], table), ids]);
  }

  /**
   * LN(residual + x) and the sum itself, the residual stream's next value; `x` null: LN(residual), the stream as it
   * was. SkipLayerNormalization gives both from one kernel (the sum is its fourth output, left out where `keepSum` is
   * false), so no Add runs.
   */
  addNorm(
    residual: string,
    x: string | null,
    name: string,
    bias: Float32Array,
    scale: Float32Array | null,
    eps: number,
    keepSum = true,
  ): { sum: string; normed: string } {
    if (x === null) return { sum: residual, normed: this.layerNorm(residual, name, bias, scale, eps) };
    if (this.target === 'any') {
      const sum = this.b.op('Add', [residual, x]);
      return { sum, normed: this.layerNorm(sum, name, bias, scale, eps) };
    }
    const [normed, , , sum] = this.b.opMulti(
      'SkipLayerNormalization',
      [x, residual, ...this.normParameters(name, bias, scale)],
      [true, false, false, keepSum],
      { epsilon: { f: eps } },
      MS_DOMAIN,
    );
    return { sum: sum!, normed: normed! };
  }

  /** LayerNorm over the last axis; `scale` absent means the bias-only norms of docs/model-format.md#layer-norm. */
  layerNorm(x: string, name: string, bias: Float32Array, scale: Float32Array | null, eps: number): string {
    const [gamma, beta] = this.normParameters(name, bias, scale);
    // A norm is blind to scale: LN(x + x) with 4ε is LN(x) with ε, and doubling and quadrupling are exact in floats.
    if (this.target === 'webgpu')
      return this.b.op('SkipLayerNormalization', [x, x, gamma, beta], { epsilon: { f: 4 * eps } }, MS_DOMAIN);
    // stash_type: mean and variance in float32, also for float16 activations.
    return this.b.op('LayerNormalization', [x, gamma, beta], {
      axis: { i: -1 },
      epsilon: { f: eps },
      stash_type: { i: TensorType.float32 },
    });
  }

  /** γ and β of a norm (γ all ones for the bias-only ones). */
  private normParameters(name: string, bias: Float32Array, scale: Float32Array | null): [string, string] {
    const width = bias.length;
    const gamma = this.floatTensor(`${name}.scale`, [width], scale ?? new Float32Array(width).fill(1));
    return [gamma, this.floatTensor(`${name}.bias`, [width], bias)];
  }

  /** Exact (erf) GELU, written so ORT's CPU fusion recognises it where it is not com.microsoft's `Gelu` already. */
  gelu(x: string): string {
    const { b } = this;
    if (this.q8Matmul === 'int8-activations' || this.target === 'webgpu') return b.op('Gelu', [x], {}, MS_DOMAIN);
    const erf = b.op('Erf', [b.op('Div', [x, this.scalar(Math.SQRT2)])]);
    return b.op('Mul', [b.op('Mul', [x, b.op('Add', [erf, this.scalar(1)])]), this.scalar(0.5)]);
  }

  /** `x` in float32, for the graph outputs that leave as float32 whatever the compute type. */
  asFloat32(x: string): string {
    return this.compute === 'float16' ? this.b.cast(x, 'float32') : x;
  }
}
