/**
 * One step of the q8 DalleBart decoder outside ONNX Runtime: the host-cache graph's inputs and outputs
 * (docs/model-format.md#kv-cache) on plain typed arrays, its linear layers on our int8 kernel (int8-gemm.ts), the q8
 * weights read from the decoder's ONNX initializers. The math follows the exporter's graph (tools/exporter/graphs/
 * dallebart.ts) op for op: NormFormer-style norms around each attention, attention over the past slots plus the new
 * one, cross-attention of each prompt row's images to that row's text, the GLU, the final norm and the LM head.
 * The GEMMs, attention, norms and GLU run on WebAssembly SIMD kernels (docs/performance.md#our-own-int8-kernel).
 */
import type { DalleBartConfig } from '../model/config.ts';
import { LAYER_NORM_EPS } from '../model/config.ts';
import { float32Values, int8Values } from '../model/onnx-initializers.ts';
import type { OnnxInitializer } from '../model/onnx-initializers.ts';
import { Int8Gemm } from './int8-gemm.ts';
import type { Int8Linear, RowNorm } from './int8-gemm.ts';
import { Attention } from './attention.ts';

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

function addInPlace(into: Float32Array, x: Float32Array): void {
  for (let i = 0; i < into.length; i++) into[i] = into[i]! + x[i]!;
}

/** The decoder's files are not a q8 export these kernels can run (ONNX Runtime still can). */
export class UnsupportedDecoderError extends Error {
  override readonly name = 'UnsupportedDecoderError';
}

export class DecoderStep {
  private readonly buffers = new Map<string, Float32Array>();

  private constructor(
    private readonly config: DalleBartConfig,
    private readonly gemm: Int8Gemm,
    private readonly attention: Attention,
    private readonly tokens: { readonly table: Int8Array; readonly rowScales: Float32Array },
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
    const get = (name: string): OnnxInitializer => {
      const tensor = weights.get(name);
      if (!tensor) throw new UnsupportedDecoderError(`the decoder has no initializer ${name}: not a q8 export`);
      return tensor;
    };
    // Layers of one input are packed side by side: one rounding of the input, one call.
    const linear = (...names: string[]): Int8Linear => {
      const inDims = new Set(names.map((name) => get(`${name}.q8`).dims[0]));
      if (inDims.size !== 1) throw new UnsupportedDecoderError(`${names.join(', ')} differ in their inputs`);
      const layers = names.map((name) => {
        const q = get(`${name}.q8`);
        return { q: int8Values(q), scales: float32Values(get(`${name}.scales`)), outDim: q.dims[1]! };
      });
      return gemm.addLinears([...inDims][0]!, layers);
    };
    const norm = (name: string): RowNorm =>
      gemm.addNorm(float32Values(get(`${name}.scale`)), float32Values(get(`${name}.bias`)));
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
    const tokens = {
      // A copy: a view would keep the whole external-data file alive (the linear layers are packed, so copied).
      table: new Int8Array(int8Values(get('decoder.embed_tokens.q8'))),
      rowScales: float32Values(get('decoder.embed_tokens.scales')),
    };
    const positions = float32Values(get('decoder.embed_positions'));
    const embeddingNorm = norm('decoder.layernorm_embedding');
    return new DecoderStep(
      config,
      gemm,
      new Attention(gemm),
      tokens,
      positions,
      embeddingNorm,
      layers,
      norm('decoder.final_ln'),
      linear('lm_head'),
    );
  }

  /** LayerNormalization of rows of the norm's width (B rows), into `into` when given. */
  private norm(norm: RowNorm, x: Float32Array, into?: Float32Array): Float32Array {
    return this.gemm.layerNorm(norm, x, x.length / norm.width, LAYER_NORM_EPS, into);
  }

  /**
   * A step's working array `name` of `length` floats, reused from step to step: the activations no caller keeps
   * (each read before its array is written again), so a step allocates only what it returns.
   */
  private buffer(name: string, length: number): Float32Array {
    let array = this.buffers.get(name);
    if (array?.length !== length) {
      array = new Float32Array(length);
      this.buffers.set(name, array);
    }
    return array;
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

    let h: Float32Array = new Float32Array(B * d);
    inputs.ids.forEach((id, r) => {
      const scale = this.tokens.rowScales[id]!;
      for (let c = 0; c < d; c++)
        h[r * d + c] = this.tokens.table[id * d + c]! * scale + this.positions[inputs.position * d + c]!;
    });
    h = this.norm(this.embeddingNorm, h);

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
