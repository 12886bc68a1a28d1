/**
 * The q8 DalleBart encoder outside ONNX Runtime, on our kernels: the encoder graph's inputs and outputs on plain typed
 * arrays (token ids and mask [B, T] → last_hidden_state [B, T, d] and every decoder layer's cross-attention keys and
 * values), its linear layers int8 in the kernels' memory as the file has them, where ONNX Runtime's WASM backend folds
 * them to float32 at load (4× the memory). The math follows the exporter's encoder graph (tools/exporter/graphs/
 * dallebart.ts) op for op: embedding and its norm; per layer a pre-norm, self-attention over the text with padding
 * hidden as keys, a scaled post-norm, the GLU; the final norm; then each decoder layer's cross key and value
 * projections (docs/performance.md#the-encoder-on-our-kernels).
 */
import type { DalleBartConfig } from '../model/config.ts';
import type { OnnxInitializer } from '../model/onnx-initializers.ts';
import { addInPlace, BartStack } from './bart-stack.ts';
import { BartWeights, checkHeads } from './bart-weights.ts';
import type { BartStackParts, GluWeights } from './bart-weights.ts';
import type { KeyValue } from './decoder-step.ts';
import type { Int8Gemm, Int8Linear, RowNorm } from './int8-gemm.ts';

export interface EncoderInputs {
  /** [B, T] token ids (B prompt rows: the prompt, then the unconditional one). */
  readonly ids: readonly number[];
  /** [B, T]: 1 where a token is attended to. */
  readonly attentionMask: ArrayLike<number>;
  readonly textLength: number;
}

export interface EncoderOutputs {
  /** [B, T, d] */
  readonly lastHiddenState: Float32Array;
  /** Per decoder layer: key [B, H, hd, T], value [B, H, T, hd] (H the decoder's heads). */
  readonly cross: readonly KeyValue[];
}

interface EncoderLayer {
  readonly preNorm: RowNorm;
  /** q, k and v side by side. */
  readonly qkv: Int8Linear;
  readonly out: Int8Linear;
  readonly postNorm: RowNorm;
  readonly glu: GluWeights;
}

/** [B, T, H, hd] rows → keys [B, H, hd, T] (`keysLayout`) or values [B, H, T, hd]. */
function splitHeads(x: Float32Array, B: number, T: number, H: number, hd: number, keysLayout: boolean): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < H; h++) {
        const from = ((b * T + t) * H + h) * hd;
        if (!keysLayout) out.set(x.subarray(from, from + hd), ((b * H + h) * T + t) * hd);
        else for (let c = 0; c < hd; c++) out[((b * H + h) * hd + c) * T + t] = x[from + c]!;
      }
    }
  }
  return out;
}

export class EncoderPass extends BartStack {
  private constructor(
    parts: BartStackParts,
    private readonly layers: readonly EncoderLayer[],
    /** Each decoder layer's cross k and v, side by side. */
    private readonly cross: readonly Int8Linear[],
  ) {
    super(parts);
  }

  /** Packs the q8 encoder's weights (readInitializers of its graph file) into `gemm`. */
  static fromInitializers(
    config: DalleBartConfig,
    weights: ReadonlyMap<string, OnnxInitializer>,
    gemm: Int8Gemm,
  ): EncoderPass {
    checkHeads(config.dModel, config.encoderHeads, 'the encoder');
    checkHeads(config.dModel, config.decoderHeads, 'the cross-attention');
    const w = new BartWeights(weights, gemm, 'encoder');
    const layers: EncoderLayer[] = [];
    for (let l = 0; l < config.encoderLayers; l++) {
      const p = `encoder.${l}`;
      layers.push({
        preNorm: w.norm(`${p}.ln_pre`),
        qkv: w.linear(`${p}.q`, `${p}.k`, `${p}.v`),
        out: w.linear(`${p}.out`),
        postNorm: w.norm(`${p}.ln_post`),
        glu: w.glu(`${p}.glu`),
      });
    }
    const cross = Array.from({ length: config.decoderLayers }, (_, l) =>
      w.linear(`decoder.${l}.cross.k`, `decoder.${l}.cross.v`),
    );
    const parts = w.stackParts(config);
    // The working memory for the longest prompt pair now: a longer one later would leave a smaller one unused.
    gemm.reserveRows(2 * config.maxTextLength);
    return new EncoderPass(parts, layers, cross);
  }

  run(inputs: EncoderInputs): EncoderOutputs {
    const { config, gemm } = this;
    const { ids, attentionMask, textLength: T } = inputs;
    const d = config.dModel;
    const rows = ids.length;
    const B = rows / T;
    if (!Number.isInteger(B) || attentionMask.length !== rows || T > config.maxTextLength)
      throw new Error(`the encoder takes ids and a mask of [B, T ≤ ${config.maxTextLength}]; got ${rows} ids, T ${T}`);
    const heads = config.encoderHeads;
    const hd = d / heads;
    const buffer = (name: string, length: number) => this.buffer(name, length);

    const embedded = this.embed(ids, (r) => r % T, buffer('embedded', rows * d));
    const h = this.norm(this.embeddingNorm, embedded, new Float32Array(rows * d));
    const [normed, added] = [buffer('normed', rows * d), buffer('added', rows * d)];
    const [out, context] = [buffer('out', rows * d), buffer('context', rows * d)];
    for (const layer of this.layers) {
      this.norm(layer.preNorm, h, normed);
      const [q, k, v] = gemm.multiplyParts(layer.qkv, normed, rows) as [Float32Array, Float32Array, Float32Array];
      const keys = splitHeads(k, B, T, heads, hd, true);
      const values = splitHeads(v, B, T, heads, hd, false);
      // Each prompt row's tokens are a group reading that row's keys; padding is hidden as a key, as in the graph.
      const layerKeys = { keys, values, slots: T, rowsPerGroup: T, mask: attentionMask };
      this.attention.run(q, layerKeys, heads, hd, 1 / Math.sqrt(hd), context);
      gemm.multiply(layer.out, context, rows, out);
      addInPlace(h, this.norm(layer.postNorm, out, added));

      this.addGlu(layer.glu, h, rows, normed, out);
    }
    const encoded = this.norm(this.finalNorm, h, new Float32Array(rows * d));
    const H = config.decoderHeads;
    const crossHd = d / H;
    const cross = this.cross.map((layer) => {
      const [key, value] = gemm.multiplyParts(layer, encoded, rows) as [Float32Array, Float32Array];
      return { key: splitHeads(key, B, T, H, crossHd, true), value: splitHeads(value, B, T, H, crossHd, false) };
    });
    return { lastHiddenState: encoded, cross };
  }
}
