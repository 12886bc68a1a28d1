/**
 * Seeded random checkpoints in the exact layout of the hub repos (config.json, flax_model.msgpack,
 * vocab.json, merges.txt), so the exporter's real reading path is what tests and benchmarks exercise.
 * Values are statistically plausible (normal kernels, unit-ish norm scales), not trained.
 */
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toDalleBartConfigJson, toVqganConfigJson } from '../../src/model/config.ts';
import { writeFlaxMsgpack } from './flax-msgpack-writer.ts';
import type { LeafSpec, TreeSpec } from './flax-msgpack-writer.ts';
import { dalleBartLayout, vqganLayout } from './layout.ts';
import type { Layout, LeafLayout } from './layout.ts';
import { PRESET_SHAPES } from './presets.ts';
import type { PresetName } from './presets.ts';
import { fillNormal, streamSeed } from './prng.ts';
import { toyVocabFiles } from './toy-vocab.ts';

type KernelStd = (leaf: LeafLayout) => number;

function leafSpec(path: string, leaf: LeafLayout, seed: number, kernelStd: KernelStd, embeddingStd: number): LeafSpec {
  const size = leaf.shape.reduce((a, b) => a * b, 1);
  const s = streamSeed(seed, path);
  const fill = (): Float32Array => {
    const out = new Float32Array(size);
    switch (leaf.role) {
      case 'kernel': return fillNormal(out, s, 0, kernelStd(leaf));
      case 'embedding': return fillNormal(out, s, 0, embeddingStd);
      case 'scale': return fillNormal(out, s, 1, 0.1);
      case 'bias': return fillNormal(out, s, 0, 0.05);
    }
  };
  return { shape: leaf.shape, fill };
}

/** Nests "a/b/c" paths into the msgpack map tree, keeping layout order. */
function toTree(layout: Layout, seed: number, kernelStd: KernelStd, embeddingStd: number): TreeSpec {
  const root: Record<string, unknown> = {};
  for (const [path, leaf] of layout) {
    const parts = path.split('/');
    let node = root;
    for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1]!] = leafSpec(path, leaf, seed, kernelStd, embeddingStd);
  }
  return root as TreeSpec;
}

function writeMsgpack(file: string, tree: TreeSpec): void {
  const fd = openSync(file, 'w');
  try {
    writeFlaxMsgpack(fd, tree);
  } finally {
    closeSync(fd);
  }
}

/** Writes `<dir>/dalle` and `<dir>/vqgan` checkpoint folders and returns their paths. */
export function writeRandomCheckpoint(preset: PresetName, seed: number, dir: string): { dalle: string; vqgan: string } {
  const shapes = PRESET_SHAPES[preset];
  const dalle = join(dir, 'dalle');
  const vqgan = join(dir, 'vqgan');
  mkdirSync(dalle, { recursive: true });
  mkdirSync(vqgan, { recursive: true });

  const dalleJson = toDalleBartConfigJson(shapes.dalleBart, { init_std: shapes.initStd, _name_or_path: `random-${preset}-seed${seed}` });
  writeFileSync(join(dalle, 'config.json'), `${JSON.stringify(dalleJson, null, 2)}\n`);
  const vocab = toyVocabFiles();
  writeFileSync(join(dalle, 'vocab.json'), vocab['vocab.json']);
  writeFileSync(join(dalle, 'merges.txt'), vocab['merges.txt']);
  writeMsgpack(join(dalle, 'flax_model.msgpack'), toTree(dalleBartLayout(shapes.dalleBart), seed, () => shapes.initStd, shapes.initStd));

  writeFileSync(join(vqgan, 'config.json'), `${JSON.stringify(toVqganConfigJson(shapes.vqgan), null, 2)}\n`);
  // He-style kernels keep activations O(1) through 17 residual blocks, so the random images are not flat.
  const fanIn: KernelStd = (leaf) => 1 / Math.sqrt(leaf.shape.slice(0, -1).reduce((a, b) => a * b, 1));
  writeMsgpack(join(vqgan, 'flax_model.msgpack'), toTree(vqganLayout(shapes.vqgan), seed + 1, fanIn, 1));
  return { dalle, vqgan };
}
