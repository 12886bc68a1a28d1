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
import { addInPlace, BartStack } from './bart-stack.ts';
import { BartWeights, checkHeads } from './bart-weights.ts';
import type { BartStackParts, GluWeights } from './bart-weights.ts';

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
  /**
   * The super-conditioning scale s: given, the step returns each image's guided logits uncond + s · (cond − uncond)
   * [n, V], mixing the rows' final hidden states before the LM head (linear, so the same logits; half its rows).
   */
  readonly conditionScale?: number;
  /**
   * false: the step returns no newSlots, and its keys and values go through reused buffers, as its queries always do (a
   * drawing on the step's own cache reads only the logits; fresh arrays cost ≈ 15 ms of a 9-image step in Chromium).
   */
  readonly newSlots?: boolean;
}

export interface DecoderStepOutputs {
  /** [B, V], or [n, V] guided with `conditionScale`. */
  readonly logits: Float32Array;
  /** Per layer, this step's key and value, [B, d] each (laid out [B, H, hd]); empty where not asked for. */
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
  readonly glu: GluWeights;
}

export class DecoderStep extends BartStack {
  private constructor(
    parts: BartStackParts,
    private readonly layers: readonly DecoderLayer[],
    private readonly head: Int8Linear,
  ) {
    super(parts);
  }

  /** Packs the q8 decoder's weights (from readInitializers of any of its graph files) into `gemm`. */
  static fromInitializers(
    config: DalleBartConfig,
    weights: ReadonlyMap<string, OnnxInitializer>,
    gemm: Int8Gemm,
  ): DecoderStep {
    checkHeads(config.dModel, config.decoderHeads, 'the decoder');
    const w = new BartWeights(weights, gemm, 'decoder');
    const layers: DecoderLayer[] = [];
    for (let l = 0; l < config.decoderLayers; l++) {
      const p = `decoder.${l}`;
      layers.push({
        preSelf: w.norm(`${p}.ln_pre_self`),
        qkv: w.linear(`${p}.self.q`, `${p}.self.k`, `${p}.self.v`),
        selfOut: w.linear(`${p}.self.out`),
        postSelf: w.norm(`${p}.ln_post_self`),
        preCross: w.norm(`${p}.ln_pre_cross`),
        crossQ: w.linear(`${p}.cross.q`),
        crossOut: w.linear(`${p}.cross.out`),
        postCross: w.norm(`${p}.ln_post_cross`),
        glu: w.glu(`${p}.glu`),
      });
    }
    return new DecoderStep(w.stackParts(config), layers, w.linear('lm_head'));
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

    const embedded = this.embed(inputs.ids, () => inputs.position, this.buffer('embedded', B * d));
    const h = this.norm(this.embeddingNorm, embedded, this.buffer('residual', B * d));

    const newSlots: KeyValue[] = [];
    // The queries never leave the step; the keys and values are fresh arrays only where returned as new slots.
    const keepsSlots = inputs.newSlots !== false;
    const qkvInto = (keepsSlots ? ['query'] : ['query', 'key', 'value']).map((name) => this.buffer(name, B * d));
    const context = this.buffer('context', B * d);
    // `normed` takes each input norm (read at once by a product), `added` each norm added to h, `out` each product.
    const [normed, added, out] = [this.buffer('normed', B * d), this.buffer('added', B * d), this.buffer('out', B * d)];
    this.layers.forEach((layer, l) => {
      this.norm(layer.preSelf, h, normed);
      const [q, k, v] = gemm.multiplyParts(layer.qkv, normed, B, qkvInto) as [Float32Array, Float32Array, Float32Array];
      if (keepsSlots) newSlots.push({ key: k, value: v });
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

      this.addGlu(layer.glu, h, B, normed, out);
    });
    const final = this.norm(this.finalNorm, h, normed);
    const s = inputs.conditionScale;
    if (s === undefined) return { logits: gemm.multiply(this.head, final, B), newSlots };
    return { logits: gemm.multiply(this.head, guidedRows(final, n, d, s, this.buffer('guided', n * d)), n), newSlots };
  }
}

/**
 * Rows i (cond) and n + i (uncond) of `x` [2n, d] combined as uncond + s · (cond − uncond) (the sampler's
 * superConditioned, here on the LM head's input: W·x + b is linear in x and the bias comes out whole).
 */
export function guidedRows(x: Float32Array, n: number, d: number, s: number, into: Float32Array): Float32Array {
  for (let i = 0; i < n * d; i++) {
    const uncond = x[n * d + i]!;
    into[i] = uncond + s * (x[i]! - uncond);
  }
  return into;
}
