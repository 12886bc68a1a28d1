/**
 * The VQGAN decoder's structure, level by level, derived from its config: what the exporter's graph, the layout, the
 * reference and our own kernels (src/kernels/vqgan-decoder.ts) all walk.
 */
import { vqganGridSize, vqganLevelChannels } from './config.ts';
import type { VqganConfig } from './config.ts';

/** One decoder level's blocks, in execution order, as the graph and the reference walk them. */
export interface VqganLevel {
  readonly level: number;
  readonly resolution: number;
  readonly blocks: readonly { readonly prefix: string; readonly cin: number; readonly cout: number }[];
  readonly attentions: readonly string[];
  /** Undefined at level 0, which keeps its resolution. */
  readonly upsample: string | undefined;
}

/**
 * The decoder's structure, derived from the config the way taming/vqgan-jax build it
 * (docs/model-format.md#vqgan-decoder).
 */
export function vqganLevels(c: VqganConfig): VqganLevel[] {
  const levels: VqganLevel[] = [];
  const top = c.chMult.length - 1;
  let cin = vqganLevelChannels(c, top);
  let resolution = vqganGridSize(c);
  for (let level = top; level >= 0; level--) {
    const cout = vqganLevelChannels(c, level);
    const blocks = [];
    const attentions = [];
    for (let i = 0; i <= c.numResBlocks; i++) {
      blocks.push({ prefix: `decoder/up_${level}/block_${i}`, cin, cout });
      cin = cout;
      if (c.attnResolutions.includes(resolution)) attentions.push(`decoder/up_${level}/attn_${i}`);
    }
    const upsample = level !== 0 ? `decoder/up_${level}/upsample/conv` : undefined;
    levels.push({ level, resolution, blocks, attentions, upsample });
    if (upsample) resolution *= 2;
  }
  return levels;
}

/** One 3×3 convolution of the decoder: its weights' path, the map it runs on, its channels in and out. */
export interface VqganConv3x3 {
  readonly path: string;
  readonly size: number;
  readonly channels: number;
  readonly outputs: number;
}

/** The decoder's 3×3 convolutions in the order they run, `conv_out` last. */
export function vqganConv3x3s(c: VqganConfig): VqganConv3x3[] {
  const top = vqganLevelChannels(c, c.chMult.length - 1);
  const grid = vqganGridSize(c);
  const convs: VqganConv3x3[] = [{ path: 'decoder/conv_in', size: grid, channels: c.zChannels, outputs: top }];
  const block = (prefix: string, size: number, cin: number, cout: number) =>
    convs.push(
      { path: `${prefix}/conv1`, size, channels: cin, outputs: cout },
      { path: `${prefix}/conv2`, size, channels: cout, outputs: cout },
    );
  block('decoder/mid/block_1', grid, top, top);
  block('decoder/mid/block_2', grid, top, top);
  for (const level of vqganLevels(c)) {
    for (const b of level.blocks) block(b.prefix, level.resolution, b.cin, b.cout);
    if (level.upsample) {
      const channels = vqganLevelChannels(c, level.level);
      convs.push({ path: level.upsample, size: 2 * level.resolution, channels, outputs: channels });
    }
  }
  convs.push({ path: 'decoder/conv_out', size: c.resolution, channels: vqganLevelChannels(c, 0), outputs: c.outCh });
  return convs;
}
