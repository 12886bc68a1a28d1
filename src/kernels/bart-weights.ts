/**
 * A q8 DalleBart graph's weights, read from its ONNX initializers (the files ONNX Runtime would load: nothing new to
 * download) into our kernels' memory: linear layers packed for the int8 GEMM, norms placed, embeddings kept int8 with a
 * scale per row. What the encoder pass and the decoder step both load from (the exporter's names:
 * tools/exporter/graphs/layers.ts).
 */
import type { DalleBartConfig } from '../model/config.ts';
import { float32Values, int8Values } from '../model/onnx-initializers.ts';
import type { OnnxInitializer } from '../model/onnx-initializers.ts';
import { Attention, supportsHeadSize } from './attention.ts';
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

/** A layer's GLU: a norm, GELU(x · fc0) · (x · fc1) (the two packed side by side), a norm, fc2. */
export interface GluWeights {
  readonly norm0: RowNorm;
  readonly fc01: Int8Linear;
  readonly norm1: RowNorm;
  readonly fc2: Int8Linear;
}

/** What the encoder pass and the decoder step both hold: the kernels, the embeddings and their norm, the final norm. */
export interface BartStackParts {
  readonly config: DalleBartConfig;
  readonly gemm: Int8Gemm;
  readonly attention: Attention;
  readonly tokens: Int8Embedding;
  readonly positions: Float32Array;
  readonly embeddingNorm: RowNorm;
  readonly finalNorm: RowNorm;
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
    /** The graph, and the prefix of its names: 'encoder' or 'decoder'. */
    private readonly graph: 'encoder' | 'decoder',
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

  /** The GLU under `prefix` (`encoder.3.glu`). */
  glu(prefix: string): GluWeights {
    const [norm0, fc01] = [this.norm(`${prefix}.ln0`), this.linear(`${prefix}.fc0`, `${prefix}.fc1`)];
    return { norm0, fc01, norm1: this.norm(`${prefix}.ln1`), fc2: this.linear(`${prefix}.fc2`) };
  }

  /** The graph's embeddings, their norm and its final norm, and attention in the same kernels' memory. */
  stackParts(config: DalleBartConfig): BartStackParts {
    const g = this.graph;
    return {
      config,
      gemm: this.gemm,
      attention: new Attention(this.gemm),
      tokens: this.embedding(`${g}.embed_tokens`),
      positions: this.floats(`${g}.embed_positions`),
      embeddingNorm: this.norm(`${g}.layernorm_embedding`),
      finalNorm: this.norm(`${g}.final_ln`),
    };
  }
}
