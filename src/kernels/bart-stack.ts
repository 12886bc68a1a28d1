/**
 * What the encoder pass (encoder-pass.ts) and the decoder step (decoder-step.ts) share at run time: their parts
 * (bart-weights.ts), LayerNorm with the graphs' epsilon, the embedding lookup, the GLU, and working arrays reused from
 * call to call.
 */
import type { DalleBartConfig } from '../model/config.ts';
import { LAYER_NORM_EPS } from '../model/config.ts';
import type { Attention } from './attention.ts';
import type { BartStackParts, GluWeights, Int8Embedding } from './bart-weights.ts';
import type { Int8Gemm, RowNorm } from './int8-gemm.ts';

export function addInPlace(into: Float32Array, x: Float32Array): void {
  for (let i = 0; i < into.length; i++) into[i] = into[i]! + x[i]!;
}

export abstract class BartStack {
  protected readonly config: DalleBartConfig;
  protected readonly gemm: Int8Gemm;
  protected readonly attention: Attention;
  protected readonly embeddingNorm: RowNorm;
  protected readonly finalNorm: RowNorm;
  private readonly tokens: Int8Embedding;
  private readonly positions: Float32Array;
  private readonly arrays = new Map<string, Float32Array>();

  protected constructor(parts: BartStackParts) {
    this.config = parts.config;
    this.gemm = parts.gemm;
    this.attention = parts.attention;
    this.embeddingNorm = parts.embeddingNorm;
    this.finalNorm = parts.finalNorm;
    this.tokens = parts.tokens;
    this.positions = parts.positions;
  }

  /** LayerNormalization of rows of the norm's width, into `into` when given. */
  protected norm(norm: RowNorm, x: Float32Array, into?: Float32Array): Float32Array {
    return this.gemm.layerNorm(norm, x, x.length / norm.width, LAYER_NORM_EPS, into);
  }

  /**
   * Working array `name` of `length` floats, reused from call to call: activations no caller keeps (each read before it
   * is written again), so a call allocates only what it returns.
   */
  protected buffer(name: string, length: number): Float32Array {
    let array = this.arrays.get(name);
    if (array?.length !== length) {
      array = new Float32Array(length);
      this.arrays.set(name, array);
    }
    return array;
  }

  /** Row r: token `ids[r]`'s embedding (int8 times its row's scale) plus position `positionOf(r)`'s, into `into`. */
  protected embed(ids: readonly number[], positionOf: (row: number) => number, into: Float32Array): Float32Array {
    const { table, rowScales, width: d } = this.tokens;
    ids.forEach((id, r) => {
      const scale = rowScales[id]!;
      const p = positionOf(r) * d;
      for (let c = 0; c < d; c++) into[r * d + c] = table[id * d + c]! * scale + this.positions[p + c]!;
    });
    return into;
  }

  /** h += the GLU of h, for `rows` rows; `normed` and `out` are working arrays of h's size. */
  protected addGlu(glu: GluWeights, h: Float32Array, rows: number, normed: Float32Array, out: Float32Array): void {
    const { gemm } = this;
    this.norm(glu.norm0, h, normed);
    const width = glu.fc01.parts[0]!.outDim;
    const gate = gemm.multiplyGlu(glu.fc01, normed, rows, this.buffer('gate', rows * width));
    const gated = this.norm(glu.norm1, gate, this.buffer('gated', rows * width));
    addInPlace(h, gemm.multiply(glu.fc2, gated, rows, out));
  }
}
