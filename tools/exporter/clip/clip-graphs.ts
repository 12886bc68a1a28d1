/**
 * CLIP's two towers as ONNX graphs with the inputs and outputs of the hub's exports
 * (`Xenova/clip-vit-base-patch32`), so transformers.js runs them unchanged:
 *
 * text_model:   input_ids [B, T] (T ≤ 77) → text_embeds [B, P], last_hidden_state [B, T, d]
 * vision_model: pixel_values [B, 3, S, S] → image_embeds [B, P], last_hidden_state [B, N + 1, d]
 *
 * Both are pre-LN transformers with quick_gelu (x·σ(1.702x)) MLPs. The text tower adds learned
 * positions, masks attention causally, applies final_layer_norm and pools the hidden state at the
 * end-of-text token, found as the argmax of the ids (the EOS id is the largest id of CLIP's vocab).
 * The vision tower embeds patches with a stride-p convolution, prepends the class token, applies
 * pre_layrnorm, pools the class token and applies post_layernorm. Each pooled vector goes through
 * its bias-free projection.
 */
import type { GraphBuilder } from '../onnx/graph-builder.ts';
import { Layers } from '../graphs/layers.ts';
import type { ExportDtype } from '../graphs/precision.ts';

export interface ClipTowerConfig {
  readonly hidden: number;
  readonly intermediate: number;
  readonly layers: number;
  readonly heads: number;
}

export interface ClipConfig {
  readonly text: ClipTowerConfig & { readonly vocabSize: number; readonly maxPositions: number };
  readonly vision: ClipTowerConfig & { readonly imageSize: number; readonly patchSize: number };
  readonly projectionDim: number;
}

/** CLIP's LayerNorm epsilon (layer_norm_eps in config.json). */
export const CLIP_LAYER_NORM_EPS = 1e-5;

/** Weights by name; kernels of linear layers are [in, out]. */
export type ClipParams = (name: string, dims: readonly number[]) => Float32Array;

interface Tower {
  readonly layers: Layers;
  readonly params: ClipParams;
  readonly config: ClipTowerConfig;
  readonly prefix: string;
}

function dense(t: Tower, x: string, name: string, inDim: number, outDim: number): string {
  const y = t.layers.linear(x, `${name}.weight`, t.params(`${name}.weight`, [inDim, outDim]), inDim, outDim);
  return t.layers.b.op('Add', [y, t.layers.floatTensor(`${name}.bias`, [outDim], t.params(`${name}.bias`, [outDim]))]);
}

function norm(t: Tower, x: string, name: string): string {
  const d = t.config.hidden;
  return t.layers.layerNorm(
    x,
    name,
    t.params(`${name}.bias`, [d]),
    t.params(`${name}.weight`, [d]),
    CLIP_LAYER_NORM_EPS,
  );
}

function quickGelu(t: Tower, x: string): string {
  const { b } = t.layers;
  return b.op('Mul', [x, b.op('Sigmoid', [b.op('Mul', [x, t.layers.scalar(1.702)])])]);
}

/** Self-attention over [B, T, d]; `bias` is an additive [T, T] mask or null. */
function attention(t: Tower, x: string, name: string, bias: string | null): string {
  const { b } = t.layers;
  const { hidden: d, heads } = t.config;
  const headDim = d / heads;
  const split = (v: string, perm: number[]): string =>
    b.op('Transpose', [b.op('Reshape', [v, b.int64s([0, 0, heads, headDim])])], { perm: { ints: perm } });
  const q = b.op('Mul', [dense(t, x, `${name}.q_proj`, d, d), t.layers.scalar(headDim ** -0.5)]);
  const k = dense(t, x, `${name}.k_proj`, d, d);
  const v = dense(t, x, `${name}.v_proj`, d, d);
  let scores = b.op('MatMul', [split(q, [0, 2, 1, 3]), split(k, [0, 2, 3, 1])]);
  if (bias) scores = b.op('Add', [scores, bias]);
  const mixed = b.op('MatMul', [b.op('Softmax', [scores], { axis: { i: -1 } }), split(v, [0, 2, 1, 3])]);
  const merged = b.op('Reshape', [b.op('Transpose', [mixed], { perm: { ints: [0, 2, 1, 3] } }), b.int64s([0, 0, d])]);
  return dense(t, merged, `${name}.out_proj`, d, d);
}

function encoder(t: Tower, x: string, bias: string | null): string {
  const { b } = t.layers;
  const { hidden: d, intermediate } = t.config;
  let h = x;
  for (let l = 0; l < t.config.layers; l++) {
    const name = `${t.prefix}.encoder.layers.${l}`;
    b.scope = `${t.prefix}_layer${l}`;
    h = b.op('Add', [h, attention(t, norm(t, h, `${name}.layer_norm1`), `${name}.self_attn`, bias)]);
    const up = quickGelu(t, dense(t, norm(t, h, `${name}.layer_norm2`), `${name}.mlp.fc1`, d, intermediate));
    h = b.op('Add', [h, dense(t, up, `${name}.mlp.fc2`, intermediate, d)]);
  }
  b.scope = '';
  return h;
}

function projection(t: Tower, x: string, name: string, projectionDim: number): string {
  const d = t.config.hidden;
  return t.layers.linear(x, name, t.params(name, [d, projectionDim]), d, projectionDim);
}

export function buildClipTextGraph(b: GraphBuilder, params: ClipParams, config: ClipConfig, dtype: ExportDtype): void {
  const t: Tower = { layers: new Layers(b, dtype), params, config: config.text, prefix: 'text_model' };
  const { hidden: d, vocabSize, maxPositions } = config.text;
  const ids = b.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const length = b.op('Gather', [b.op('Shape', [ids]), b.int64s([1])]);
  const tokens = t.layers.embedding(
    ids,
    'text_model.embeddings.token_embedding.weight',
    params('text_model.embeddings.token_embedding.weight', [vocabSize, d]),
    vocabSize,
    d,
  );
  const positionTable = t.layers.floatTensor(
    'text_model.embeddings.position_embedding.weight',
    [maxPositions, d],
    params('text_model.embeddings.position_embedding.weight', [maxPositions, d]),
  );
  const positions = b.op('Slice', [positionTable, b.int64s([0]), length, b.int64s([0])]);
  // Causal mask: a constant [77, 77] table cut to [T, T].
  const mask = new Float32Array(maxPositions * maxPositions);
  for (let i = 0; i < maxPositions; i++) for (let j = i + 1; j < maxPositions; j++) mask[i * maxPositions + j] = -1e9;
  const causal = b.op('Slice', [
    t.layers.floatTensor('text_model.causal_mask', [maxPositions, maxPositions], mask),
    b.int64s([0, 0]),
    b.op('Concat', [length, length], { axis: { i: 0 } }),
    b.int64s([0, 1]),
  ]);
  const hidden = norm(t, encoder(t, b.op('Add', [tokens, positions]), causal), 'text_model.final_layer_norm');
  // EOS pooling: the hidden state at argmax(ids), picked with a one-hot row per batch element.
  const eos = b.op('ArgMax', [ids], { axis: { i: 1 }, keepdims: { i: 1 } });
  const slots = b.op('Range', [b.scalar('int64', 0), b.op('Squeeze', [length, b.int64s([0])]), b.scalar('int64', 1)]);
  const oneHot = b.cast(b.op('Equal', [slots, eos]), 'float32');
  const pooled = b.op('Squeeze', [b.op('MatMul', [b.op('Unsqueeze', [oneHot, b.int64s([1])]), hidden]), b.int64s([1])]);
  b.output('text_embeds', projection(t, pooled, 'text_projection.weight', config.projectionDim), 'float32', [
    'batch_size',
    config.projectionDim,
  ]);
  b.output('last_hidden_state', hidden, 'float32', ['batch_size', 'sequence_length', d]);
}

export function buildClipVisionGraph(
  b: GraphBuilder,
  params: ClipParams,
  config: ClipConfig,
  dtype: ExportDtype,
): void {
  const t: Tower = { layers: new Layers(b, dtype), params, config: config.vision, prefix: 'vision_model' };
  const { hidden: d, imageSize, patchSize } = config.vision;
  const grid = imageSize / patchSize;
  const tokens = grid * grid + 1;
  const pixels = b.input('pixel_values', 'float32', ['batch_size', 3, imageSize, imageSize]);
  const patchWeight = t.layers.floatTensor(
    'vision_model.embeddings.patch_embedding.weight',
    [d, 3, patchSize, patchSize],
    params('vision_model.embeddings.patch_embedding.weight', [d, 3, patchSize, patchSize]),
  );
  const patches = b.op('Conv', [pixels, patchWeight], {
    kernel_shape: { ints: [patchSize, patchSize] },
    strides: { ints: [patchSize, patchSize] },
  });
  const sequence = b.op('Transpose', [b.op('Reshape', [patches, b.int64s([0, d, grid * grid])])], {
    perm: { ints: [0, 2, 1] },
  });
  const classToken = t.layers.floatTensor(
    'vision_model.embeddings.class_embedding',
    [1, 1, d],
    params('vision_model.embeddings.class_embedding', [d]),
  );
  const batch = b.op('Gather', [b.op('Shape', [pixels]), b.int64s([0])]);
  const classTokens = b.op('Expand', [classToken, b.op('Concat', [batch, b.int64s([1, d])], { axis: { i: 0 } })]);
  const positions = t.layers.floatTensor(
    'vision_model.embeddings.position_embedding.weight',
    [tokens, d],
    params('vision_model.embeddings.position_embedding.weight', [tokens, d]),
  );
  const embedded = b.op('Add', [b.op('Concat', [classTokens, sequence], { axis: { i: 1 } }), positions]);
  const hidden = encoder(t, norm(t, embedded, 'vision_model.pre_layrnorm'), null);
  const pooled = norm(
    t,
    b.op('Gather', [hidden, b.scalar('int64', 0)], { axis: { i: 1 } }),
    'vision_model.post_layernorm',
  );
  b.output('image_embeds', projection(t, pooled, 'visual_projection.weight', config.projectionDim), 'float32', [
    'batch_size',
    config.projectionDim,
  ]);
  b.output('last_hidden_state', hidden, 'float32', ['batch_size', tokens, d]);
}
