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
