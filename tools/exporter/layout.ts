/**
 * The official checkpoint layouts (DalleBart with scanned layers, and the VQGAN: docs/model-format.md#parameter-names),
 * as path → shape tables. The random-checkpoint writer builds from them and the exporter checks a
 * real checkpoint against them before it writes anything.
 */
import type { DalleBartConfig, VqganConfig } from '../../src/model/config.ts';
import { vqganLevelChannels } from '../../src/model/config.ts';
import { vqganLevels } from '../../src/model/vqgan-levels.ts';

export { vqganLevels };
export type { VqganLevel } from '../../src/model/vqgan-levels.ts';

/** What a leaf is, which decides how a random checkpoint initialises it. */
export type LeafRole = 'embedding' | 'kernel' | 'scale' | 'bias';
export interface LeafLayout {
  readonly shape: readonly number[];
  readonly role: LeafRole;
}
export type Layout = Map<string, LeafLayout>;

export const ENCODER_LAYERS = 'model/encoder/layers/FlaxBartEncoderLayers';
export const DECODER_LAYERS = 'model/decoder/layers/FlaxBartDecoderLayers';

function attention(layout: Layout, prefix: string, L: number, d: number): void {
  for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
    layout.set(`${prefix}/${proj}/kernel`, { shape: [L, d, d], role: 'kernel' });
  }
}

function glu(layout: Layout, prefix: string, L: number, d: number, ffn: number): void {
  layout.set(`${prefix}/LayerNorm_0/bias`, { shape: [L, d], role: 'bias' });
  layout.set(`${prefix}/Dense_0/kernel`, { shape: [L, d, ffn], role: 'kernel' });
  layout.set(`${prefix}/Dense_1/kernel`, { shape: [L, d, ffn], role: 'kernel' });
  layout.set(`${prefix}/LayerNorm_1/bias`, { shape: [L, ffn], role: 'bias' });
  layout.set(`${prefix}/Dense_2/kernel`, { shape: [L, ffn, d], role: 'kernel' });
}

function scaledNorm(layout: Layout, prefix: string, shape: number[]): void {
  layout.set(`${prefix}/scale`, { shape, role: 'scale' });
  layout.set(`${prefix}/bias`, { shape, role: 'bias' });
}

export function dalleBartLayout(c: DalleBartConfig): Layout {
  const layout: Layout = new Map();
  const d = c.dModel;
  layout.set('model/encoder/embed_tokens/embedding', { shape: [c.encoderVocabSize, d], role: 'embedding' });
  layout.set('model/encoder/embed_positions/embedding', { shape: [c.maxTextLength, d], role: 'embedding' });
  scaledNorm(layout, 'model/encoder/layernorm_embedding', [d]);
  const Le = c.encoderLayers;
  layout.set(`${ENCODER_LAYERS}/LayerNorm_0/bias`, { shape: [Le, d], role: 'bias' });
  attention(layout, `${ENCODER_LAYERS}/FlaxBartAttention_0`, Le, d);
  scaledNorm(layout, `${ENCODER_LAYERS}/LayerNorm_1`, [Le, d]);
  glu(layout, `${ENCODER_LAYERS}/GLU_0`, Le, d, c.encoderFfnDim);
  layout.set('model/encoder/final_ln/bias', { shape: [d], role: 'bias' });

  layout.set('model/decoder/embed_tokens/embedding', { shape: [c.imageVocabSize + 1, d], role: 'embedding' });
  layout.set('model/decoder/embed_positions/embedding', { shape: [c.imageLength, d], role: 'embedding' });
  scaledNorm(layout, 'model/decoder/layernorm_embedding', [d]);
  const Ld = c.decoderLayers;
  layout.set(`${DECODER_LAYERS}/LayerNorm_0/bias`, { shape: [Ld, d], role: 'bias' });
  attention(layout, `${DECODER_LAYERS}/FlaxBartAttention_0`, Ld, d);
  scaledNorm(layout, `${DECODER_LAYERS}/LayerNorm_1`, [Ld, d]);
  layout.set(`${DECODER_LAYERS}/LayerNorm_2/bias`, { shape: [Ld, d], role: 'bias' });
  attention(layout, `${DECODER_LAYERS}/FlaxBartAttention_1`, Ld, d);
  scaledNorm(layout, `${DECODER_LAYERS}/LayerNorm_3`, [Ld, d]);
  glu(layout, `${DECODER_LAYERS}/GLU_0`, Ld, d, c.decoderFfnDim);
  layout.set('model/decoder/final_ln/bias', { shape: [d], role: 'bias' });
  layout.set('lm_head/kernel', { shape: [d, c.imageVocabSize + 1], role: 'kernel' });
  return layout;
}

function conv(layout: Layout, prefix: string, k: number, cin: number, cout: number): void {
  layout.set(`${prefix}/kernel`, { shape: [k, k, cin, cout], role: 'kernel' });
  layout.set(`${prefix}/bias`, { shape: [cout], role: 'bias' });
}

function groupNorm(layout: Layout, prefix: string, channels: number): void {
  scaledNorm(layout, prefix, [channels]);
}

function resBlock(layout: Layout, prefix: string, cin: number, cout: number): void {
  groupNorm(layout, `${prefix}/norm1`, cin);
  conv(layout, `${prefix}/conv1`, 3, cin, cout);
  groupNorm(layout, `${prefix}/norm2`, cout);
  conv(layout, `${prefix}/conv2`, 3, cout, cout);
  if (cin !== cout) conv(layout, `${prefix}/nin_shortcut`, 1, cin, cout);
}

function attnBlock(layout: Layout, prefix: string, channels: number): void {
  groupNorm(layout, `${prefix}/norm`, channels);
  for (const name of ['q', 'k', 'v', 'proj_out']) conv(layout, `${prefix}/${name}`, 1, channels, channels);
}

export function vqganLayout(c: VqganConfig): Layout {
  const layout: Layout = new Map();
  layout.set('quantize/embedding/embedding', { shape: [c.nEmbed, c.embedDim], role: 'embedding' });
  conv(layout, 'post_quant_conv', 1, c.embedDim, c.zChannels);
  const top = vqganLevelChannels(c, c.chMult.length - 1);
  conv(layout, 'decoder/conv_in', 3, c.zChannels, top);
  resBlock(layout, 'decoder/mid/block_1', top, top);
  attnBlock(layout, 'decoder/mid/attn_1', top);
  resBlock(layout, 'decoder/mid/block_2', top, top);
  for (const level of vqganLevels(c)) {
    level.blocks.forEach((block, i) => {
      resBlock(layout, block.prefix, block.cin, block.cout);
      const attention = level.attentions[i];
      if (attention) attnBlock(layout, attention, block.cout);
    });
    if (level.upsample) {
      const ch = vqganLevelChannels(c, level.level);
      conv(layout, level.upsample, 3, ch, ch);
    }
  }
  const last = vqganLevelChannels(c, 0);
  groupNorm(layout, 'decoder/norm_out', last);
  conv(layout, 'decoder/conv_out', 3, last, c.outCh);
  return layout;
}
