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
 *   `past.l.value` [B, H, S, hd] → logits [B, V+1] (float32) and `present.l.*`. The new key/value is
 *   blended into slot `position` with Where, so shapes never change between steps (no shader
 *   recompiles on WebGPU); the blend rewrites the cache, the matmuls run for the new token only.
 */
import { LAYER_NORM_EPS } from '../../../src/model/config.ts';
import type { DalleBartConfig } from '../../../src/model/config.ts';
import { BATCH_AXIS, DECODER_INPUTS, DECODER_OUTPUTS, ENCODER_INPUTS, ENCODER_OUTPUTS, cacheNames, crossAttentionNames } from '../../../src/model/graph-io.ts';
import type { GraphBuilder } from '../onnx/graph-builder.ts';
import type { ParamSource } from '../params.ts';
import { DECODER_LAYERS, ENCODER_LAYERS } from '../layout.ts';
import { Layers } from './layers.ts';
import { maskValue } from './precision.ts';
import type { ExportDtype } from './precision.ts';

interface Ctx {
  readonly L: Layers;
  readonly p: ParamSource;
  readonly c: DalleBartConfig;
}

function headDim(c: DalleBartConfig, heads: number): number {
  return c.dModel / heads;
}

/** [B, T, d] → [B, H, T, hd] (or [B, H, hd, T] with `keysTransposed`). */
function splitHeads(ctx: Ctx, x: string, heads: number, keysTransposed: boolean): string {
  const { b } = ctx.L;
  const hd = headDim(ctx.c, heads);
  const r = b.op('Reshape', [x, b.int64s([0, ctx.c.maxTextLength, heads, hd])]);
  return b.op('Transpose', [r], { perm: { ints: keysTransposed ? [0, 2, 3, 1] : [0, 2, 1, 3] } });
}

/** Additive key bias [B, 1, 1, T] from an int64 mask (1 = attend). */
function textBias(ctx: Ctx, mask: string): string {
  const { L } = ctx;
  const { b } = L;
  const allowed = b.cast(mask, 'bool');
  const bias = b.op('Where', [allowed, L.scalar(0), L.scalar(maskValue(L.compute))]);
  return b.op('Unsqueeze', [bias, b.int64s([1, 2])]);
}

function glu(ctx: Ctx, x: string, prefix: string, name: string, layer: number, ffn: number): string {
  const { L, p, c } = ctx;
  const d = c.dModel;
  const g = L.layerNorm(x, `${name}.ln0`, p.readLayer(`${prefix}/LayerNorm_0/bias`, layer), null, LAYER_NORM_EPS);
  const gate = L.gelu(L.linear(g, `${name}.fc0`, p.readLayer(`${prefix}/Dense_0/kernel`, layer), d, ffn));
  const lin = L.linear(g, `${name}.fc1`, p.readLayer(`${prefix}/Dense_1/kernel`, layer), d, ffn);
  const u = L.layerNorm(L.b.op('Mul', [gate, lin]), `${name}.ln1`, p.readLayer(`${prefix}/LayerNorm_1/bias`, layer), null, LAYER_NORM_EPS);
  return L.linear(u, `${name}.fc2`, p.readLayer(`${prefix}/Dense_2/kernel`, layer), ffn, d);
}

function scaledNorm(ctx: Ctx, x: string, name: string, path: string, layer: number | null): string {
  const { L, p } = ctx;
  const read = (leaf: string): Float32Array => (layer === null ? p.read(`${path}/${leaf}`) : p.readLayer(`${path}/${leaf}`, layer));
  return L.layerNorm(x, name, read('bias'), read('scale'), LAYER_NORM_EPS);
}

function projection(ctx: Ctx, x: string, attn: string, proj: string, layer: number, name: string): string {
  const d = ctx.c.dModel;
  return ctx.L.linear(x, name, ctx.p.readLayer(`${attn}/${proj}/kernel`, layer), d, d);
}

/** Softmax(q·K + bias)·V for q [B, H, Q, hd] (already scaled), K [B, H, hd, S], V [B, H, S, hd]. */
function attend(ctx: Ctx, q: string, k: string, v: string, bias: string): string {
  const { b } = ctx.L;
  const scores = b.op('Add', [b.op('MatMul', [q, k]), bias]);
  return b.op('MatMul', [b.op('Softmax', [scores], { axis: { i: -1 } }), v]);
}

export function buildEncoderGraph(b: GraphBuilder, p: ParamSource, c: DalleBartConfig, dtype: ExportDtype): void {
  const L = new Layers(b, dtype);
  const ctx: Ctx = { L, p, c };
  const T = c.maxTextLength;
  const d = c.dModel;
  const H = c.encoderHeads;
  const hd = headDim(c, H);
  const ids = b.input(ENCODER_INPUTS.inputIds, 'int64', [BATCH_AXIS, T]);
  const mask = b.input(ENCODER_INPUTS.attentionMask, 'int64', [BATCH_AXIS, T]);

  const tokens = L.embedding(ids, 'encoder.embed_tokens', p.read('model/encoder/embed_tokens/embedding'), c.encoderVocabSize, d);
  const positions = L.floatTensor('encoder.embed_positions', [T, d], p.read('model/encoder/embed_positions/embedding'));
  let h = scaledNorm(ctx, b.op('Add', [tokens, positions]), 'encoder.layernorm_embedding', 'model/encoder/layernorm_embedding', null);
  const bias = textBias(ctx, mask);
  const qScale = L.scalar(1 / Math.sqrt(hd));

  for (let l = 0; l < c.encoderLayers; l++) {
    b.scope = `encoder.${l}`;
    const attn = `${ENCODER_LAYERS}/FlaxBartAttention_0`;
    const a = L.layerNorm(h, `encoder.${l}.ln_pre`, p.readLayer(`${ENCODER_LAYERS}/LayerNorm_0/bias`, l), null, LAYER_NORM_EPS);
    const q = b.op('Mul', [splitHeads(ctx, projection(ctx, a, attn, 'q_proj', l, `encoder.${l}.q`), H, false), qScale]);
    const k = splitHeads(ctx, projection(ctx, a, attn, 'k_proj', l, `encoder.${l}.k`), H, true);
    const v = splitHeads(ctx, projection(ctx, a, attn, 'v_proj', l, `encoder.${l}.v`), H, false);
    const merged = b.op('Reshape', [b.op('Transpose', [attend(ctx, q, k, v, bias)], { perm: { ints: [0, 2, 1, 3] } }), b.int64s([0, T, d])]);
    const out = projection(ctx, merged, attn, 'out_proj', l, `encoder.${l}.out`);
    h = b.op('Add', [h, scaledNorm(ctx, out, `encoder.${l}.ln_post`, `${ENCODER_LAYERS}/LayerNorm_1`, l)]);
    h = b.op('Add', [h, glu(ctx, h, `${ENCODER_LAYERS}/GLU_0`, `encoder.${l}.glu`, l, c.encoderFfnDim)]);
  }
  b.scope = '';
  const encoded = L.layerNorm(h, 'encoder.final_ln', p.read('model/encoder/final_ln/bias'), null, LAYER_NORM_EPS);
  b.output(ENCODER_OUTPUTS.lastHiddenState, L.asFloat32(encoded), 'float32', [BATCH_AXIS, T, d]);

  const Hd = c.decoderHeads;
  const hdd = headDim(c, Hd);
  const crossNames = crossAttentionNames(c);
  for (let l = 0; l < c.decoderLayers; l++) {
    b.scope = `cross.${l}`;
    const attn = `${DECODER_LAYERS}/FlaxBartAttention_1`;
    const k = splitHeads(ctx, projection(ctx, encoded, attn, 'k_proj', l, `decoder.${l}.cross.k`), Hd, true);
    const v = splitHeads(ctx, projection(ctx, encoded, attn, 'v_proj', l, `decoder.${l}.cross.v`), Hd, false);
    b.output(crossNames[l]!.key, k, L.compute, [BATCH_AXIS, Hd, hdd, T]);
    b.output(crossNames[l]!.value, v, L.compute, [BATCH_AXIS, Hd, T, hdd]);
  }
  b.scope = '';
}

export function buildDecoderGraph(b: GraphBuilder, p: ParamSource, c: DalleBartConfig, dtype: ExportDtype): void {
  const L = new Layers(b, dtype);
  const ctx: Ctx = { L, p, c };
  const T = c.maxTextLength;
  const S = c.imageLength;
  const d = c.dModel;
  const H = c.decoderHeads;
  const hd = headDim(c, H);
  const V = c.imageVocabSize + 1;

  const ids = b.input(DECODER_INPUTS.inputIds, 'int64', [BATCH_AXIS]);
  const position = b.input(DECODER_INPUTS.position, 'int64', []);
  const mask = b.input(DECODER_INPUTS.attentionMask, 'int64', [2, T]);
  const cross = crossAttentionNames(c).map((names) => ({
    key: b.input(names.key, L.compute, [2, H, hd, T]),
    value: b.input(names.value, L.compute, [2, H, T, hd]),
  }));
  const past = cacheNames(c, 'past').map((names) => ({
    key: b.input(names.key, L.compute, [BATCH_AXIS, H, hd, S]),
    value: b.input(names.value, L.compute, [BATCH_AXIS, H, S, hd]),
  }));
  const present = cacheNames(c, 'present');

  // Per-step masks, shared by every layer: the slot being written and the causal key bias.
  const slots = b.constant('int64', [S], Array.from({ length: S }, (_, i) => i));
  const isCurrent = b.op('Equal', [slots, position]);
  const keySlot = b.op('Reshape', [isCurrent, b.int64s([1, 1, 1, S])]);
  const valueSlot = b.op('Reshape', [isCurrent, b.int64s([1, 1, S, 1])]);
  const visible = b.op('LessOrEqual', [slots, position]);
  const causalBias = b.op('Reshape', [b.op('Where', [visible, L.scalar(0), L.scalar(maskValue(L.compute))]), b.int64s([1, 1, 1, S])]);
  const crossBias = textBias(ctx, mask);
  const qScale = L.scalar(1 / Math.sqrt(hd));

  const tokens = L.embedding(ids, 'decoder.embed_tokens', p.read('model/decoder/embed_tokens/embedding'), V, d);
  const positionRow = b.op('Gather', [L.floatTensor('decoder.embed_positions', [S, d], p.read('model/decoder/embed_positions/embedding')), position]);
  let h = scaledNorm(ctx, b.op('Add', [tokens, positionRow]), 'decoder.layernorm_embedding', 'model/decoder/layernorm_embedding', null);

  const heads = (x: string, shape: number[]): string => b.op('Reshape', [x, b.int64s(shape)]);
  for (let l = 0; l < c.decoderLayers; l++) {
    b.scope = `decoder.${l}`;
    const self = `${DECODER_LAYERS}/FlaxBartAttention_0`;
    const a = L.layerNorm(h, `decoder.${l}.ln_pre_self`, p.readLayer(`${DECODER_LAYERS}/LayerNorm_0/bias`, l), null, LAYER_NORM_EPS);
    // [B, d] reshapes straight into head layouts because d = H·hd is contiguous and the new token is one position.
    const q = b.op('Mul', [heads(projection(ctx, a, self, 'q_proj', l, `decoder.${l}.self.q`), [0, H, 1, hd]), qScale]);
    const kNew = heads(projection(ctx, a, self, 'k_proj', l, `decoder.${l}.self.k`), [0, H, hd, 1]);
    const vNew = heads(projection(ctx, a, self, 'v_proj', l, `decoder.${l}.self.v`), [0, H, 1, hd]);
    const presentKey = b.op('Where', [keySlot, kNew, past[l]!.key]);
    const presentValue = b.op('Where', [valueSlot, vNew, past[l]!.value]);
    b.output(present[l]!.key, presentKey, L.compute, [BATCH_AXIS, H, hd, S]);
    b.output(present[l]!.value, presentValue, L.compute, [BATCH_AXIS, H, S, hd]);
    const selfOut = projection(ctx, heads(attend(ctx, q, presentKey, presentValue, causalBias), [0, d]), self, 'out_proj', l, `decoder.${l}.self.out`);
    h = b.op('Add', [h, scaledNorm(ctx, selfOut, `decoder.${l}.ln_post_self`, `${DECODER_LAYERS}/LayerNorm_1`, l)]);

    const crossAttn = `${DECODER_LAYERS}/FlaxBartAttention_1`;
    const cIn = L.layerNorm(h, `decoder.${l}.ln_pre_cross`, p.readLayer(`${DECODER_LAYERS}/LayerNorm_2/bias`, l), null, LAYER_NORM_EPS);
    // [2n, d] → [2, H, n, hd]: the n images of each prompt row query that row's keys together.
    const cq = b.op('Transpose', [heads(projection(ctx, cIn, crossAttn, 'q_proj', l, `decoder.${l}.cross.q`), [2, -1, H, hd])], { perm: { ints: [0, 2, 1, 3] } });
    const crossContext = attend(ctx, b.op('Mul', [cq, qScale]), cross[l]!.key, cross[l]!.value, crossBias);
    const merged = heads(b.op('Transpose', [crossContext], { perm: { ints: [0, 2, 1, 3] } }), [-1, d]);
    const crossOut = projection(ctx, merged, crossAttn, 'out_proj', l, `decoder.${l}.cross.out`);
    h = b.op('Add', [h, scaledNorm(ctx, crossOut, `decoder.${l}.ln_post_cross`, `${DECODER_LAYERS}/LayerNorm_3`, l)]);
    h = b.op('Add', [h, glu(ctx, h, `${DECODER_LAYERS}/GLU_0`, `decoder.${l}.glu`, l, c.decoderFfnDim)]);
  }
  b.scope = '';
  const final = L.layerNorm(h, 'decoder.final_ln', p.read('model/decoder/final_ln/bias'), null, LAYER_NORM_EPS);
  const logits = L.linear(final, 'lm_head', p.read('lm_head/kernel'), d, V);
  b.output(DECODER_OUTPUTS.logits, L.asFloat32(logits), 'float32', [BATCH_AXIS, V]);
}
