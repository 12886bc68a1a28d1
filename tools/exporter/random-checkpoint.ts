/**
 * Seeded random checkpoints in the exact layout of the hub repos (config.json, flax_model.msgpack,
 * vocab.json, merges.txt), so the exporter's real reading path is what tests and benchmarks exercise.
 * Values are statistically plausible (normal kernels, unit-ish norm scales), not trained.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { toDalleBartConfigJson, toVqganConfigJson } from '../../src/model/config.ts';
import { ensureOutputDir } from '../node/output-dir.ts';
import { createStaging, replaceWithStaged } from '../node/staging.ts';
import { writeFlaxMsgpack } from './flax-msgpack-writer.ts';
import type { LeafSpec, TreeSpec } from './flax-msgpack-writer.ts';
import { dalleBartLayout, vqganLayout } from './layout.ts';
import type { Layout, LeafLayout } from './layout.ts';
import { exporterFingerprint } from './fingerprint.ts';
import { PRESET_SHAPES } from './presets.ts';
import type { PresetName } from './presets.ts';
import { fillNormal, streamSeed } from './prng.ts';
import { toyVocabFiles } from './toy-vocab.ts';
import { bartTokenizerJson } from './bart-tokenizer.ts';

type KernelStd = (leaf: LeafLayout) => number;

function leafSpec(path: string, leaf: LeafLayout, seed: number, kernelStd: KernelStd, embeddingStd: number): LeafSpec {
  const size = leaf.shape.reduce((a, b) => a * b, 1);
  const s = streamSeed(seed, path);
  const fill = (): Float32Array => {
    const out = new Float32Array(size);
    switch (leaf.role) {
      case 'kernel':
        return fillNormal(out, s, 0, kernelStd(leaf));
      case 'embedding':
        return fillNormal(out, s, 0, embeddingStd);
      case 'scale':
        return fillNormal(out, s, 1, 0.1);
      case 'bias':
        return fillNormal(out, s, 0, 0.05);
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

/**
 * Written last into a finished checkpoint, holding the fingerprint of the code that wrote it: a folder without it (an
 * interrupted write) or with another (written by other code: the same seed may now give other bytes) is rewritten.
 */
const COMPLETE = '.complete';

/**
 * Writes `<dir>/dalle` and `<dir>/vqgan` checkpoint folders, replacing whatever is at `dir`, and
 * returns their paths. They are built in a staging folder and swapped in whole, so an interrupted
 * write never passes for a checkpoint. `log` hears each stage (mini and mega take a while).
 */
export function writeRandomCheckpoint(
  preset: PresetName,
  seed: number,
  dir: string,
  log: (line: string) => void = () => undefined,
): { dalle: string; vqgan: string } {
  ensureOutputDir(dirname(dir), 'checkpoint cache');
  const staging = createStaging(dir);
  try {
    writeTree(preset, seed, staging, log);
    writeFileSync(join(staging, COMPLETE), exporterFingerprint());
    replaceWithStaged(staging, dir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  return { dalle: join(dir, 'dalle'), vqgan: join(dir, 'vqgan') };
}

/** The checkpoint at `dir` if a complete one is there, else a freshly written one. */
export function ensureRandomCheckpoint(
  preset: PresetName,
  seed: number,
  dir: string,
  log: (line: string) => void = () => undefined,
): { dalle: string; vqgan: string } {
  const complete = join(dir, COMPLETE);
  if (existsSync(complete) && readFileSync(complete, 'utf8') === exporterFingerprint())
    return { dalle: join(dir, 'dalle'), vqgan: join(dir, 'vqgan') };
  return writeRandomCheckpoint(preset, seed, dir, log);
}

function writeTree(preset: PresetName, seed: number, dir: string, log: (line: string) => void): void {
  const shapes = PRESET_SHAPES[preset];
  const dalle = join(dir, 'dalle');
  const vqgan = join(dir, 'vqgan');
  mkdirSync(dalle);
  mkdirSync(vqgan);

  const dalleJson = toDalleBartConfigJson(shapes.dalleBart, {
    init_std: shapes.initStd,
    _name_or_path: `random-${preset}-seed${seed}`,
  });
  writeFileSync(join(dalle, 'config.json'), `${JSON.stringify(dalleJson, null, 2)}\n`);
  const vocab = toyVocabFiles();
  writeFileSync(join(dalle, 'vocab.json'), vocab['vocab.json']);
  writeFileSync(join(dalle, 'merges.txt'), vocab['merges.txt']);
  // The hub repos ship the fast tokenizer's file too; the exporter does not need it (src/text has its own BPE).
  writeFileSync(join(dalle, 'tokenizer.json'), bartTokenizerJson(vocab['vocab.json'], vocab['merges.txt']));
  log(`random checkpoint: DalleBart weights (${preset}, seed ${seed})…`);
  writeMsgpack(
    join(dalle, 'flax_model.msgpack'),
    toTree(dalleBartLayout(shapes.dalleBart), seed, () => shapes.initStd, shapes.initStd),
  );

  writeFileSync(join(vqgan, 'config.json'), `${JSON.stringify(toVqganConfigJson(shapes.vqgan), null, 2)}\n`);
  // He-style kernels keep activations O(1) through 17 residual blocks, so the random images are not flat.
  const fanIn: KernelStd = (leaf) => 1 / Math.sqrt(leaf.shape.slice(0, -1).reduce((a, b) => a * b, 1));
  log(`random checkpoint: VQGAN weights (${preset}, seed ${seed})…`);
  writeMsgpack(join(vqgan, 'flax_model.msgpack'), toTree(vqganLayout(shapes.vqgan), seed + 1, fanIn, 1));
}
