/**
 * The two DalleBart graphs.
 *
 * encoder: input_ids, attention_mask [B, T] → last_hidden_state [B, T, d] and, for every decoder
 *   layer l, the cross-attention keys `cross.l.key` [B, H, hd, T] (pre-transposed for q·K) and values
 *   `cross.l.value` [B, H, T, hd]: computed once per prompt instead of once per step (docs/model-format.md#kv-cache).
 * decoder: one step for B = 2n rows (n images, cond rows then uncond rows). input_ids [B] (the
 *   previous token), position (scalar), the encoder's 2-row attention_mask [2, T] and cross tensors
 *   (each prompt's rows attend to them as a group of n, so nothing is repeated per image or
 *   re-sent per step), and a fixed 256-slot self-attention cache `past.l.key` [B, H, hd, S] /
 *   `past.l.value` [B, H, S, hd] → logits [B, V] (float32), `present.l.*` and `new.l.*`. Attention
 *   reads the past slots before `position` plus the new key/value as one extra column, so it never
 *   waits for a rewritten cache. `present.l.*` (the cache with slot `position` blended in by Where:
 *   shapes never change between steps, so no shader recompiles on WebGPU) is only an output, for
 *   runtimes that feed it back; `new.l.*` is the new slot alone, for callers that keep the cache
 *   themselves. The exporter also writes the graph without `present.*` (the CPU runtimes' graph:
 *   the Where would rewrite the whole cache every step for nothing) and with a symbolic `past.*` slot
 *   axis, so those callers pass only the slots allocated so far (hostCacheDecoderVariant;
 *   docs/model-format.md#kv-cache).
 * Shape letters are those of docs/model-format.md#graphs (T, S, d, V); its H and hd are `heads` and
 * `headDim` here. The text axis T of both graphs is symbolic (`TEXT_AXIS`, any length up to
 * maxTextLength; docs/model-format.md#text-length). Tensor names come from src/model/graph-io.ts.
 */
import { LAYER_NORM_EPS } from '../../../src/model/config.ts';
import type { DalleBartConfig } from '../../../src/model/config.ts';
import {
  BATCH_AXIS,
  DECODER_INPUTS,
  DECODER_OUTPUTS,
  ENCODER_INPUTS,
  ENCODER_OUTPUTS,
  TEXT_AXIS,
  PAST_SLOTS_AXIS,
  cacheNames,
  crossAttentionNames,
  newSlotNames,
} from '../../../src/model/graph-io.ts';
import type { Dim, GraphBuilder, GraphVariant } from '../onnx/graph-builder.ts';
import type { ParamSource } from '../params.ts';
import { DECODER_LAYERS, ENCODER_LAYERS } from '../layout.ts';
import { Layers } from './layers.ts';
import type { EmbeddingLookup, GraphTarget, Q8Matmul } from './layers.ts';
import { maskValue } from './precision.ts';
import type { ExportDtype } from './precision.ts';

interface Ctx {
  readonly layers: Layers;
  readonly params: ParamSource;
  readonly config: DalleBartConfig;
}

function headDimOf(config: DalleBartConfig, heads: number): number {
  return config.dModel / heads;
}

/** [B, T, d] → [B, H, T, hd] (or [B, H, hd, T] with `keysTransposed`); T is whatever the input's text length is. */
function splitHeads(ctx: Ctx, x: string, heads: number, keysTransposed: boolean): string {
  const { b } = ctx.layers;
  const headDim = headDimOf(ctx.config, heads);
  const split = b.op('Reshape', [x, b.int64s([0, -1, heads, headDim])]);
  return b.op('Transpose', [split], { perm: { ints: keysTransposed ? [0, 2, 3, 1] : [0, 2, 1, 3] } });
}

/**
 * Additive key bias [B, 1, 1, T] from an int64 mask (1 = attend), looked up by `Gather`: WebGPU has no kernel for an
 * int64 `Cast` or comparison, and one such node on the CPU rules out graph capture (docs/model-format.md#kv-cache).
 */
function textBias(ctx: Ctx, mask: string): string {
  const { layers } = ctx;
  const { b } = layers;
  const bias = b.op('Gather', [b.constant(layers.compute, [2], [maskValue(layers.compute), 0]), mask]);
  return b.op('Unsqueeze', [bias, b.int64s([1, 2])]);
}

/** The GLU's first norm (bias only) of the residual stream plus `x` (Layers.addNorm), and that sum. */
function gluInput(
  ctx: Ctx,
  residual: string,
  x: string | null,
  prefix: string,
  name: string,
  layer: number,
): { sum: string; normed: string } {
  const bias = ctx.params.readLayer(`${prefix}/LayerNorm_0/bias`, layer);
  return ctx.layers.addNorm(residual, x, `${name}.ln0`, bias, null, LAYER_NORM_EPS);
}

/** The GLU after its first norm (gluInput): `normed` is that norm's output. */
function glu(ctx: Ctx, normed: string, prefix: string, name: string, layer: number, ffn: number): string {
  const { layers, params } = ctx;
  const d = ctx.config.dModel;
  const gate = layers.gelu(
    layers.linear(normed, `${name}.fc0`, params.readLayer(`${prefix}/Dense_0/kernel`, layer), d, ffn),
  );
  const up = layers.linear(normed, `${name}.fc1`, params.readLayer(`${prefix}/Dense_1/kernel`, layer), d, ffn);
  const gated = layers.layerNorm(
    layers.b.op('Mul', [gate, up]),
    `${name}.ln1`,
    params.readLayer(`${prefix}/LayerNorm_1/bias`, layer),
    null,
    LAYER_NORM_EPS,
  );
  return layers.linear(gated, `${name}.fc2`, params.readLayer(`${prefix}/Dense_2/kernel`, layer), ffn, d);
}

function scaledNorm(ctx: Ctx, x: string, name: string, path: string, layer: number | null): string {
  const { layers, params } = ctx;
  const read = (leaf: string): Float32Array =>
    layer === null ? params.read(`${path}/${leaf}`) : params.readLayer(`${path}/${leaf}`, layer);
  return layers.layerNorm(x, name, read('bias'), read('scale'), LAYER_NORM_EPS);
}

function projection(
  ctx: Ctx,
  x: string,
  attn: string,
  proj: string,
  layer: number,
  name: string,
  outputScale = 1,
): string {
  const d = ctx.config.dModel;
  return ctx.layers.linear(x, name, ctx.params.readLayer(`${attn}/${proj}/kernel`, layer), d, d, outputScale);
}

/**
 * The queries' 1/√hd: a Mul after the q projection, or, in the files only WebGPU loads where it is a power of two (hd a
 * power of 4: 64 for mini and mega), folded into the projection's weight scales exactly (Layers.linear), one kernel
 * fewer per attention: `projected` is the output scale to give the q projection, `scale` applies what is left.
 */
function queryScale(ctx: Ctx, headDim: number): { readonly projected: number; readonly scale: (q: string) => string } {
  const { layers } = ctx;
  const value = 1 / Math.sqrt(headDim);
  if (layers.target === 'webgpu' && Number.isInteger(Math.log2(value))) return { projected: value, scale: (q) => q };
  const scalar = layers.scalar(value);
  return { projected: 1, scale: (q) => layers.b.op('Mul', [q, scalar]) };
}

/** Softmax(q·K + bias)·V for q [B, H, Q, hd] (already scaled), K [B, H, hd, S], V [B, H, S, hd]. */
function attend(ctx: Ctx, q: string, k: string, v: string, bias: string): string {
  const { b } = ctx.layers;
  const scores = b.op('Add', [b.op('MatMul', [q, k]), bias]);
  return b.op('MatMul', [b.op('Softmax', [scores], { axis: { i: -1 } }), v]);
}

/**
 * Self-attention of the new token over the cached slots (`pastBias` hides those at or after the
 * position) and itself: q [B, H, 1, hd] (scaled), past K [B, H, hd, P] and V [B, H, P, hd] (P slots,
 * `splitSizes` = [P, 1]), the new kNew [B, H, hd, 1] and vNew [B, H, 1, hd]. One softmax over P + 1
 * columns, then probs[:P]·V + probs[P]·vNew: the same weights as attending over a cache with the new
 * slot written in, without writing it.
 */
function attendWithNew(
  ctx: Ctx,
  q: string,
  past: { key: string; value: string },
  kNew: string,
  vNew: string,
  pastBias: string,
  splitSizes: string,
): string {
  const { b } = ctx.layers;
  const scores = b.op('Concat', [b.op('Add', [b.op('MatMul', [q, past.key]), pastBias]), b.op('MatMul', [q, kNew])], {
    axis: { i: -1 },
  });
  const probs = b.op('Softmax', [scores], { axis: { i: -1 } });
  const [pastProbs, newProb] = b.opMulti('Split', [probs, splitSizes], 2, { axis: { i: -1 } });
  return b.op('Add', [b.op('MatMul', [pastProbs!, past.value]), b.op('Mul', [newProb!, vNew])]);
}

/**
 * Cross-attention of the decoder's rows [2n, d] (the n images of each prompt row, unconditioned row first) over their
 * row's text keys [2, H, hd, T] and values [2, H, T, hd], `bias` [2, 1, 1, T]; the context comes back as [2n, d].
 */
function crossAttention(
  ctx: Ctx,
  queryRows: string,
  cross: { key: string; value: string },
  bias: string,
  qScale: (q: string) => string,
): string {
  const { b, target } = ctx.layers;
  const { dModel: d, decoderHeads: heads } = ctx.config;
  const headDim = headDimOf(ctx.config, heads);
  const reshape = (x: string, shape: number[]): string => b.op('Reshape', [x, b.int64s(shape)]);
  const unsqueeze = (x: string): string => b.op('Unsqueeze', [x, b.int64s([1])]);
  if (target === 'webgpu') {
    // [2, n, H, 1, hd] against [2, 1, H, hd, T]: MatMul broadcasts each row's keys over its n images, so neither the
    // queries nor the context need a Transpose (two kernels fewer a layer; reshapes cost WebGPU no kernel). On the
    // CPU it would be 2·n·H products of one row each, hence the files CPUs load keep the transposes.
    const q = qScale(reshape(queryRows, [2, -1, heads, 1, headDim]));
    const context = attend(ctx, q, unsqueeze(cross.key), unsqueeze(cross.value), unsqueeze(bias));
    return reshape(context, [-1, d]);
  }
  // [2n, d] → [2, H, n, hd]: the n images of each prompt row query that row's keys together.
  const query = b.op('Transpose', [reshape(queryRows, [2, -1, heads, headDim])], { perm: { ints: [0, 2, 1, 3] } });
  const context = attend(ctx, qScale(query), cross.key, cross.value, bias);
  return reshape(b.op('Transpose', [context], { perm: { ints: [0, 2, 1, 3] } }), [-1, d]);
}

export function buildEncoderGraph(
  b: GraphBuilder,
  params: ParamSource,
  config: DalleBartConfig,
  dtype: ExportDtype,
): void {
  const layers = new Layers(b, dtype);
  const ctx: Ctx = { layers, params, config };
  const T = config.maxTextLength;
  const d = config.dModel;
  const heads = config.encoderHeads;
  const headDim = headDimOf(config, heads);
  // The text axis is symbolic (1 … T): the engine feeds only as many tokens as the longer row has
  // unpadded; padding is masked as a key everywhere, so the real positions come out the same.
  const ids = b.input(ENCODER_INPUTS.inputIds, 'int64', [BATCH_AXIS, TEXT_AXIS]);
  const mask = b.input(ENCODER_INPUTS.attentionMask, 'int64', [BATCH_AXIS, TEXT_AXIS]);

  const tokens = layers.embedding(
    ids,
    'encoder.embed_tokens',
    params.read('model/encoder/embed_tokens/embedding'),
    config.encoderVocabSize,
    d,
  );
  const positionTable = layers.floatTensor(
    'encoder.embed_positions',
    [T, d],
    params.read('model/encoder/embed_positions/embedding'),
  );
  const textLength = b.op('Shape', [ids], { start: { i: 1 }, end: { i: 2 } });
  const positions = b.op('Slice', [positionTable, b.int64s([0]), textLength, b.int64s([0])]);
  let h = scaledNorm(
    ctx,
    b.op('Add', [tokens, positions]),
    'encoder.layernorm_embedding',
    'model/encoder/layernorm_embedding',
    null,
  );
  const bias = textBias(ctx, mask);
  const qScale = layers.scalar(1 / Math.sqrt(headDim));

  for (let l = 0; l < config.encoderLayers; l++) {
    b.scope = `encoder.${l}`;
    const attn = `${ENCODER_LAYERS}/FlaxBartAttention_0`;
    const normed = layers.layerNorm(
      h,
      `encoder.${l}.ln_pre`,
      params.readLayer(`${ENCODER_LAYERS}/LayerNorm_0/bias`, l),
      null,
      LAYER_NORM_EPS,
    );
    const q = b.op('Mul', [
      splitHeads(ctx, projection(ctx, normed, attn, 'q_proj', l, `encoder.${l}.q`), heads, false),
      qScale,
    ]);
    const k = splitHeads(ctx, projection(ctx, normed, attn, 'k_proj', l, `encoder.${l}.k`), heads, true);
    const v = splitHeads(ctx, projection(ctx, normed, attn, 'v_proj', l, `encoder.${l}.v`), heads, false);
    const merged = b.op('Reshape', [
      b.op('Transpose', [attend(ctx, q, k, v, bias)], { perm: { ints: [0, 2, 1, 3] } }),
      b.int64s([0, -1, d]),
    ]);
    const out = projection(ctx, merged, attn, 'out_proj', l, `encoder.${l}.out`);
    h = b.op('Add', [h, scaledNorm(ctx, out, `encoder.${l}.ln_post`, `${ENCODER_LAYERS}/LayerNorm_1`, l)]);
    const gluIn = gluInput(ctx, h, null, `${ENCODER_LAYERS}/GLU_0`, `encoder.${l}.glu`, l);
    h = b.op('Add', [
      h,
      glu(ctx, gluIn.normed, `${ENCODER_LAYERS}/GLU_0`, `encoder.${l}.glu`, l, config.encoderFfnDim),
    ]);
  }
  b.scope = '';
  const encoded = layers.layerNorm(
    h,
    'encoder.final_ln',
    params.read('model/encoder/final_ln/bias'),
    null,
    LAYER_NORM_EPS,
  );
  b.output(ENCODER_OUTPUTS.lastHiddenState, layers.asFloat32(encoded), 'float32', [BATCH_AXIS, TEXT_AXIS, d]);

  // Cross keys/values are split the decoder's way: its head count may differ from the encoder's.
  const decoderHeads = config.decoderHeads;
  const decoderHeadDim = headDimOf(config, decoderHeads);
  const crossNames = crossAttentionNames(config);
  for (let l = 0; l < config.decoderLayers; l++) {
    b.scope = `cross.${l}`;
    const attn = `${DECODER_LAYERS}/FlaxBartAttention_1`;
    const k = splitHeads(ctx, projection(ctx, encoded, attn, 'k_proj', l, `decoder.${l}.cross.k`), decoderHeads, true);
    const v = splitHeads(ctx, projection(ctx, encoded, attn, 'v_proj', l, `decoder.${l}.cross.v`), decoderHeads, false);
    b.output(crossNames[l]!.key, k, layers.compute, [BATCH_AXIS, decoderHeads, decoderHeadDim, TEXT_AXIS]);
    b.output(crossNames[l]!.value, v, layers.compute, [BATCH_AXIS, decoderHeads, TEXT_AXIS, decoderHeadDim]);
  }
  b.scope = '';
}

/** How a decoder file is written, where its runtimes differ (defaults: the main graph's, decoder.onnx). */
export interface DecoderForm {
  readonly q8Matmul?: Q8Matmul;
  readonly embeddingLookup?: EmbeddingLookup;
  readonly target?: GraphTarget;
}

export function buildDecoderGraph(
  b: GraphBuilder,
  params: ParamSource,
  config: DalleBartConfig,
  dtype: ExportDtype,
  form: DecoderForm = {},
): void {
  const { q8Matmul = 'dequantize', embeddingLookup = 'int8-rows', target = 'any' } = form;
  const layers = new Layers(b, dtype, q8Matmul, embeddingLookup, target);
  const ctx: Ctx = { layers, params, config };
  const { compute } = layers;
  const T = TEXT_AXIS;
  const S = config.imageLength;
  const d = config.dModel;
  const heads = config.decoderHeads;
  const headDim = headDimOf(config, heads);
  const V = config.imageVocabSize + 1;

  const ids = b.input(DECODER_INPUTS.inputIds, 'int64', [BATCH_AXIS]);
  const position = b.input(DECODER_INPUTS.position, 'int64', []);
  const mask = b.input(DECODER_INPUTS.attentionMask, 'int64', [2, T]);
  const cross = crossAttentionNames(config).map((names) => ({
    key: b.input(names.key, compute, [2, heads, headDim, T]),
    value: b.input(names.value, compute, [2, heads, T, headDim]),
  }));
  const past = cacheNames(config, 'past').map((names) => ({
    key: b.input(names.key, compute, [BATCH_AXIS, heads, headDim, S]),
    value: b.input(names.value, compute, [BATCH_AXIS, heads, S, headDim]),
  }));
  const present = cacheNames(config, 'present');
  const newSlots: { key: string; value: string }[] = [];

  // Per-step masks, shared by every layer: the slot being written and the causal key bias. The slot
  // count P comes from the cache itself: S in decoder.onnx (static, so ONNX Runtime folds it), the
  // slots allocated so far in the host-cache file (PAST_SLOTS_AXIS). Slot indices and the position are
  // compared as float32 (exact below 2^24), the position looked up by `Gather`: no int64 arithmetic
  // that WebGPU would leave to the CPU (textBias).
  const slotCount = b.op('Shape', [past[0]!.key], { start: { i: 3 } });
  const slotIndices = b.constant(
    'float32',
    [S],
    Array.from({ length: S }, (_, i) => i),
  );
  const slots = b.op('Slice', [slotIndices, b.int64s([0]), slotCount, b.int64s([0])]);
  const here = b.op('Gather', [slotIndices, position]);
  const splitSizes = b.op('Concat', [slotCount, b.int64s([1])], { axis: { i: 0 } });
  const isCurrent = b.op('Equal', [slots, here]);
  const keySlot = b.op('Reshape', [isCurrent, b.int64s([1, 1, 1, -1])]);
  const valueSlot = b.op('Reshape', [isCurrent, b.int64s([1, 1, -1, 1])]);
  const visible = b.op('Less', [slots, here]);
  const pastBias = b.op('Reshape', [
    b.op('Where', [visible, layers.scalar(0), layers.scalar(maskValue(compute))]),
    b.int64s([1, 1, 1, -1]),
  ]);
  const crossBias = textBias(ctx, mask);
  const qScale = queryScale(ctx, headDim);

  const tokens = layers.embedding(
    ids,
    'decoder.embed_tokens',
    params.read('model/decoder/embed_tokens/embedding'),
    V,
    d,
  );
  const positionTable = layers.floatTensor(
    'decoder.embed_positions',
    [S, d],
    params.read('model/decoder/embed_positions/embedding'),
  );
  const positionRow = b.op('Gather', [positionTable, position]);
  // Not fused into the norm: the position row is [d], and SkipLayerNormalization takes its shape from its first input.
  let h = scaledNorm(
    ctx,
    b.op('Add', [tokens, positionRow]),
    'decoder.layernorm_embedding',
    'model/decoder/layernorm_embedding',
    null,
  );
  // A layer's GLU output, added to the residual stream by the next norm (Layers.addNorm).
  let pending: string | null = null;

  const reshape = (x: string, shape: number[]): string => b.op('Reshape', [x, b.int64s(shape)]);
  for (let l = 0; l < config.decoderLayers; l++) {
    b.scope = `decoder.${l}`;
    const self = `${DECODER_LAYERS}/FlaxBartAttention_0`;
    const selfIn = layers.addNorm(
      h,
      pending,
      `decoder.${l}.ln_pre_self`,
      params.readLayer(`${DECODER_LAYERS}/LayerNorm_0/bias`, l),
      null,
      LAYER_NORM_EPS,
    );
    h = selfIn.sum;
    const normed = selfIn.normed;
    // [B, d] reshapes straight into head layouts because d = H·hd is contiguous and the new token is one position.
    const qRows = projection(ctx, normed, self, 'q_proj', l, `decoder.${l}.self.q`, qScale.projected);
    const q = qScale.scale(reshape(qRows, [0, heads, 1, headDim]));
    // new.* are the projections as computed, [B, d]: a Reshape in front of a graph output becomes a copy into the
    // output's buffer, which WebGPU's graph capture does not replay (its consumers would read a stale slot).
    const kRows = projection(ctx, normed, self, 'k_proj', l, `decoder.${l}.self.k`);
    const vRows = projection(ctx, normed, self, 'v_proj', l, `decoder.${l}.self.v`);
    const kNew = reshape(kRows, [0, heads, headDim, 1]);
    const vNew = reshape(vRows, [0, heads, 1, headDim]);
    b.output(present[l]!.key, b.op('Where', [keySlot, kNew, past[l]!.key]), compute, [BATCH_AXIS, heads, headDim, S]);
    b.output(present[l]!.value, b.op('Where', [valueSlot, vNew, past[l]!.value]), compute, [
      BATCH_AXIS,
      heads,
      S,
      headDim,
    ]);
    newSlots.push({ key: kRows, value: vRows });
    const selfOut = projection(
      ctx,
      reshape(attendWithNew(ctx, q, past[l]!, kNew, vNew, pastBias, splitSizes), [0, d]),
      self,
      'out_proj',
      l,
      `decoder.${l}.self.out`,
    );
    const crossIn = layers.addNorm(
      h,
      scaledNorm(ctx, selfOut, `decoder.${l}.ln_post_self`, `${DECODER_LAYERS}/LayerNorm_1`, l),
      `decoder.${l}.ln_pre_cross`,
      params.readLayer(`${DECODER_LAYERS}/LayerNorm_2/bias`, l),
      null,
      LAYER_NORM_EPS,
    );
    h = crossIn.sum;
    const crossNormed = crossIn.normed;

    const crossAttn = `${DECODER_LAYERS}/FlaxBartAttention_1`;
    const crossQueryRows = projection(
      ctx,
      crossNormed,
      crossAttn,
      'q_proj',
      l,
      `decoder.${l}.cross.q`,
      qScale.projected,
    );
    const merged = crossAttention(ctx, crossQueryRows, cross[l]!, crossBias, qScale.scale);
    const crossOut = projection(ctx, merged, crossAttn, 'out_proj', l, `decoder.${l}.cross.out`);
    const crossNorm = scaledNorm(ctx, crossOut, `decoder.${l}.ln_post_cross`, `${DECODER_LAYERS}/LayerNorm_3`, l);
    const gluIn = gluInput(ctx, h, crossNorm, `${DECODER_LAYERS}/GLU_0`, `decoder.${l}.glu`, l);
    h = gluIn.sum;
    pending = glu(ctx, gluIn.normed, `${DECODER_LAYERS}/GLU_0`, `decoder.${l}.glu`, l, config.decoderFfnDim);
  }
  b.scope = '';
  const finalBias = params.read('model/decoder/final_ln/bias');
  const final = layers.addNorm(h, pending, 'decoder.final_ln', finalBias, null, LAYER_NORM_EPS, false).normed;
  // The LM head keeps float activations: its 16 385 columns made the 1-image step on WASM ≈ 20 % slower with int8
  // ones, for ≈ 5 % at 9 images (docs/performance.md#int8-activations-on-wasm).
  const head = q8Matmul === 'dequantize' ? layers : new Layers(b, dtype);
  const logits = head.linear(final, 'lm_head', params.read('lm_head/kernel'), d, V);
  b.output(DECODER_OUTPUTS.logits, layers.asFloat32(logits), 'float32', [BATCH_AXIS, V]);
  newSlotNames(config).forEach((names, l) => {
    b.output(names.key, newSlots[l]!.key, compute, [BATCH_AXIS, d]);
    b.output(names.value, newSlots[l]!.value, compute, [BATCH_AXIS, d]);
  });
}

/**
 * The decoder's host-cache file (manifest `hostCacheFile`): no `present.*` (and so none of the `Where`s
 * that rewrite the whole cache), and `past.*` with a symbolic slot axis, so a caller that keeps the
 * cache passes only the slots allocated so far (docs/model-format.md#kv-cache).
 */
export function hostCacheDecoderVariant(config: DalleBartConfig): GraphVariant {
  const heads = config.decoderHeads;
  const headDim = headDimOf(config, heads);
  const inputShapes = new Map<string, readonly Dim[]>();
  for (const { key, value } of cacheNames(config, 'past')) {
    inputShapes.set(key, [BATCH_AXIS, heads, headDim, PAST_SLOTS_AXIS]);
    inputShapes.set(value, [BATCH_AXIS, heads, PAST_SLOTS_AXIS, headDim]);
  }
  const present = cacheNames(config, 'present').flatMap(({ key, value }) => [key, value]);
  return { omitOutputs: new Set(present), inputShapes };
}
