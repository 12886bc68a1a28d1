/**
 * One step of the q8 DalleBart decoder outside ONNX Runtime: the host-cache graph's inputs and outputs
 * (docs/model-format.md#kv-cache) on plain typed arrays, its linear layers on our int8 kernel (int8-gemm.ts), the q8
 * weights read from the decoder's ONNX initializers. The math follows the exporter's graph (tools/exporter/graphs/
 * dallebart.ts) op for op: NormFormer-style norms around each attention, attention over the past slots plus the new
 * one, cross-attention of each prompt row's images to that row's text, the GLU, the final norm and the LM head.
 * The GEMMs, attention, norms and GLU run on WebAssembly SIMD kernels (docs/performance.md#our-own-int8-kernel).
 */
import type { DalleBartConfig } from '../model/config.ts';
import type { OnnxInitializer } from '../model/onnx-initializers.ts';
import { Int8Gemm } from './int8-gemm.ts';
import type { Int8Linear, RowNorm } from './int8-gemm.ts';
import { Attention } from './attention.ts';
import { addInPlace, BartWeights, checkHeads, embedRows, normRows, WorkingArrays } from './bart-weights.ts';
import type { Int8Embedding } from './bart-weights.ts';

/** One layer's key and value: cross [2, H, hd, T] / [2, H, T, hd], past [B, H, hd, P] / [B, H, P, hd]. */
export interface KeyValue {
  readonly key: Float32Array;
  readonly value: Float32Array;
}

export interface DecoderStepInputs {
  /** The previous token of each of the B = 2n rows (n images: conditioned rows, then unconditioned). */
  readonly ids: readonly number[];
  readonly position: number;
  /** [2, T]: 1 where a text token is attended. */
  readonly attentionMask: ArrayLike<number>;
  readonly cross: readonly KeyValue[];
  /**
   * The cache of the steps before: absent, the step keeps its own (each step appends its slots; position 0 starts a
   * new one, and positions must follow one another).
   */
  readonly past?: readonly KeyValue[];
  /** Slots in `past` (P ≥ position; those at or after the position are ignored). */
  readonly pastSlots?: number;
}

export interface DecoderStepOutputs {
  /** [B, V] */
  readonly logits: Float32Array;
  /** Per layer, this step's key and value, [B, d] each (laid out [B, H, hd]). */
  readonly newSlots: readonly KeyValue[];
}

interface DecoderLayer {
  readonly preSelf: RowNorm;
  /** q, k and v side by side. */
  readonly qkv: Int8Linear;
  readonly selfOut: Int8Linear;
  readonly postSelf: RowNorm;
  readonly preCross: RowNorm;
  readonly crossQ: Int8Linear;
  readonly crossOut: Int8Linear;
  readonly postCross: RowNorm;
  readonly gluNorm0: RowNorm;
  /** fc0 (the gate) and fc1 side by side. */
  readonly fc01: Int8Linear;
  readonly gluNorm1: RowNorm;
  readonly fc2: Int8Linear;
}

export class DecoderStep {
  private readonly buffers = new WorkingArrays();

  private constructor(
    private readonly config: DalleBartConfig,
    private readonly gemm: Int8Gemm,
    private readonly attention: Attention,
    private readonly tokens: Int8Embedding,
    private readonly positions: Float32Array,
    private readonly embeddingNorm: RowNorm,
    private readonly layers: readonly DecoderLayer[],
    private readonly finalNorm: RowNorm,
    private readonly head: Int8Linear,
  ) {}

  /** Packs the q8 decoder's weights (from readInitializers of any of its graph files) into `gemm`. */
  static fromInitializers(
    config: DalleBartConfig,
    weights: ReadonlyMap<string, OnnxInitializer>,
    gemm: Int8Gemm,
  ): DecoderStep {
    checkHeads(config.dModel, config.decoderHeads, 'the decoder');
    const w = new BartWeights(weights, gemm, 'decoder');
    const linear = (...names: string[]): Int8Linear => w.linear(...names);
    const norm = (name: string): RowNorm => w.norm(name);
    const layers: DecoderLayer[] = [];
    for (let l = 0; l < config.decoderLayers; l++) {
      const p = `decoder.${l}`;
      layers.push({
        preSelf: norm(`${p}.ln_pre_self`),
        qkv: linear(`${p}.self.q`, `${p}.self.k`, `${p}.self.v`),
        selfOut: linear(`${p}.self.out`),
        postSelf: norm(`${p}.ln_post_self`),
        preCross: norm(`${p}.ln_pre_cross`),
        crossQ: linear(`${p}.cross.q`),
        crossOut: linear(`${p}.cross.out`),
        postCross: norm(`${p}.ln_post_cross`),
        gluNorm0: norm(`${p}.glu.ln0`),
        fc01: linear(`${p}.glu.fc0`, `${p}.glu.fc1`),
        gluNorm1: norm(`${p}.glu.ln1`),
        fc2: linear(`${p}.glu.fc2`),
      });
    }
    const embeddingNorm = norm('decoder.layernorm_embedding');
    return new DecoderStep(
      config,
      gemm,
      new Attention(gemm),
      w.embedding('decoder.embed_tokens'),
      w.floats('decoder.embed_positions'),
      embeddingNorm,
      layers,
      norm('decoder.final_ln'),
      linear('lm_head'),
    );
  }

  /** LayerNormalization of rows of the norm's width (B rows), into `into` when given. */
  private norm(norm: RowNorm, x: Float32Array, into?: Float32Array): Float32Array {
    return normRows(this.gemm, norm, x, into);
  }

  /**
   * A step's working array `name` of `length` floats, reused from step to step: the activations no caller keeps, so a
   * step allocates only what it returns.
   */
  private buffer(name: string, length: number): Float32Array {
    return this.buffers.get(name, length);
  }

  run(inputs: DecoderStepInputs): DecoderStepOutputs {
    if (inputs.past && inputs.pastSlots === undefined) throw new Error('a step fed past slots needs pastSlots');
    const { config, gemm } = this;
    const d = config.dModel;
    const heads = config.decoderHeads;
    const hd = d / heads;
    const B = inputs.ids.length;
    const n = B / 2;
    const T = inputs.attentionMask.length / 2;
    const qScale = 1 / Math.sqrt(hd);

    const embedded = embedRows(this.tokens, inputs.ids, this.positions, () => inputs.position, new Float32Array(B * d));
    const h = this.norm(this.embeddingNorm, embedded);

    const newSlots: KeyValue[] = [];
    const context = this.buffer('context', B * d);
    // `normed` takes each input norm (read at once by a product), `added` each norm added to h, `out` each product.
    const [normed, added, out] = [this.buffer('normed', B * d), this.buffer('added', B * d), this.buffer('out', B * d)];
    this.layers.forEach((layer, l) => {
      this.norm(layer.preSelf, h, normed);
      const [q, k, v] = gemm.multiplyParts(layer.qkv, normed, B) as [Float32Array, Float32Array, Float32Array];
      newSlots.push({ key: k, value: v });
      const past = inputs.past?.[l];
      const extra = { keys: k, values: v };
      if (past) {
        this.attention.run(
          q,
          {
            keys: past.key,
            values: past.value,
            slots: inputs.pastSlots ?? 0,
            rowsPerGroup: 1,
            visible: inputs.position,
            extra,
            // The engine's host cache only ever writes the slot of the position just run.
            appendOnly: { id: `self.${l}`, capacity: config.imageLength },
          },
          heads,
          hd,
          qScale,
          context,
        );
      } else {
        const cache = { id: `own.${l}`, capacity: config.imageLength };
        this.attention.runOwnCache(q, cache, inputs.position, extra, heads, hd, qScale, context);
      }
      gemm.multiply(layer.selfOut, context, B, out);
      addInPlace(h, this.norm(layer.postSelf, out, added));

      this.norm(layer.preCross, h, normed);
      const cq = gemm.multiply(layer.crossQ, normed, B, this.buffer('crossQuery', B * d));
      const cross = inputs.cross[l]!;
      this.attention.run(
        cq,
        {
          keys: cross.key,
          values: cross.value,
          slots: T,
          rowsPerGroup: n,
          mask: inputs.attentionMask,
          fixedId: `cross.${l}`,
        },
        heads,
        hd,
        qScale,
        context,
      );
      gemm.multiply(layer.crossOut, context, B, out);
      addInPlace(h, this.norm(layer.postCross, out, added));

      this.norm(layer.gluNorm0, h, normed);
      const width = layer.fc01.parts[0]!.outDim;
      const gate = gemm.multiplyGlu(layer.fc01, normed, B, this.buffer('gate', B * width));
      const gated = this.norm(layer.gluNorm1, gate, this.buffer('gated', B * width));
      addInPlace(h, gemm.multiply(layer.fc2, gated, B, out));
    });
    return { logits: gemm.multiply(this.head, this.norm(this.finalNorm, h, normed), B), newSlots };
  }
}
