/**
 * A q8 DalleBart graph's weights, read from its ONNX initializers (the files ONNX Runtime would load: nothing new to
 * download) into our kernels' memory: linear layers packed for the int8 GEMM, norms placed, embeddings kept int8 with a
 * scale per row. What the encoder pass and the decoder step both load from (the exporter's names:
 * tools/exporter/graphs/layers.ts).
 */
import { LAYER_NORM_EPS } from '../model/config.ts';
import { float32Values, int8Values } from '../model/onnx-initializers.ts';
import type { OnnxInitializer } from '../model/onnx-initializers.ts';
import { supportsHeadSize } from './attention.ts';
import type { Int8Gemm, Int8Linear, RowNorm } from './int8-gemm.ts';

/** The graph's files are not a q8 export these kernels can run (ONNX Runtime still can). */
export class UnsupportedGraphError extends Error {
  override readonly name = 'UnsupportedGraphError';
}

/** An int8 embedding table [rows, width] with a float32 scale per row. */
export interface Int8Embedding {
  readonly table: Int8Array;
  readonly rowScales: Float32Array;
  readonly width: number;
}

/** Throws UnsupportedGraphError unless the attention kernels take `heads` heads over `dModel` channels. */
export function checkHeads(dModel: number, heads: number, what: string): void {
  if (!supportsHeadSize(dModel / heads))
    throw new UnsupportedGraphError(`${what}: heads of ${dModel / heads} channels are not supported by our kernels`);
}

export class BartWeights {
  constructor(
    private readonly weights: ReadonlyMap<string, OnnxInitializer>,
    private readonly gemm: Int8Gemm,
    /** The graph, for messages: 'encoder' or 'decoder'. */
    private readonly graph: string,
  ) {}

  get(name: string): OnnxInitializer {
    const tensor = this.weights.get(name);
    if (!tensor) throw new UnsupportedGraphError(`the ${this.graph} has no initializer ${name}: not a q8 export`);
    return tensor;
  }

  floats(name: string): Float32Array {
    return float32Values(this.get(name));
  }

  /** Layers of one input packed side by side: one rounding of the input, one call (Int8Gemm.multiplyParts). */
  linear(...names: string[]): Int8Linear {
    const inDims = new Set(names.map((name) => this.get(`${name}.q8`).dims[0]));
    if (inDims.size !== 1) throw new UnsupportedGraphError(`${names.join(', ')} differ in their inputs`);
    const layers = names.map((name) => {
      const q = this.get(`${name}.q8`);
      return { q: int8Values(q), scales: this.floats(`${name}.scales`), outDim: q.dims[1]! };
    });
    return this.gemm.addLinears([...inDims][0]!, layers);
  }

  norm(name: string): RowNorm {
    return this.gemm.addNorm(this.floats(`${name}.scale`), this.floats(`${name}.bias`));
  }

  embedding(name: string): Int8Embedding {
    const q = this.get(`${name}.q8`);
    // A copy: a view would keep the whole external-data file alive (the linear layers are packed, so copied).
    return { table: new Int8Array(int8Values(q)), rowScales: this.floats(`${name}.scales`), width: q.dims[1]! };
  }
}

/** Row r of `into`: row `ids[r]` of an int8 embedding plus row `positionOf(r)` of `positions` [?, width]. */
export function embedRows(
  embedding: Int8Embedding,
  ids: readonly number[],
  positions: Float32Array,
  positionOf: (row: number) => number,
  into: Float32Array,
): Float32Array {
  const { table, rowScales, width: d } = embedding;
  ids.forEach((id, r) => {
    const scale = rowScales[id]!;
    const p = positionOf(r) * d;
    for (let c = 0; c < d; c++) into[r * d + c] = table[id * d + c]! * scale + positions[p + c]!;
  });
  return into;
}

/** LayerNormalization of rows of the norm's width, with the graphs' epsilon, into `into` when given. */
export function normRows(gemm: Int8Gemm, norm: RowNorm, x: Float32Array, into?: Float32Array): Float32Array {
  return gemm.layerNorm(norm, x, x.length / norm.width, LAYER_NORM_EPS, into);
}

export function addInPlace(into: Float32Array, x: Float32Array): void {
  for (let i = 0; i < into.length; i++) into[i] = into[i]! + x[i]!;
}

/** Working arrays reused from call to call by name (each read before it is written again). */
export class WorkingArrays {
  private readonly arrays = new Map<string, Float32Array>();

  get(name: string, length: number): Float32Array {
    let array = this.arrays.get(name);
    if (array?.length !== length) {
      array = new Float32Array(length);
      this.arrays.set(name, array);
    }
    return array;
  }
}
