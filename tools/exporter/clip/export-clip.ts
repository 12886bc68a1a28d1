/**
 * CLIP ranking models for the page and the CLI, in the hub layout transformers.js reads plus our
 * manifest.json (src/model/clip-manifest.ts):
 *  - `exportRandomClip`: a seeded random tiny CLIP of the real architecture (graphs built by our own
 *    ONNX builder, a small CLIP tokenizer), byte-identical for the same seed;
 *  - `packageClip`: a downloaded hub folder (`Xenova/clip-vit-base-patch32`) gets the manifest for
 *    one dtype, so a site can publish it and the model store can download and verify it.
 * Both write beside --out and swap the folder in at the end (staging.ts).
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  CLIP_CONFIG_FILES,
  CLIP_MANIFEST_FORMAT,
  OPENAI_CLIP_LOGIT_SCALE,
  clipGraphFiles,
  parseClipManifest,
} from '../../../src/model/clip-manifest.ts';
import type { ClipDtype, ClipManifest } from '../../../src/model/clip-manifest.ts';
import type { ManifestFile } from '../../../src/model/manifest.ts';
import { forEachPiece } from '../../node/read-fully.ts';
import { createStaging, replaceWithStaged } from '../../node/staging.ts';
import { CheckpointError } from '../checkpoint-error.ts';
import { checkExportTarget } from '../export-target.ts';
import { GraphBuilder } from '../onnx/graph-builder.ts';
import { fillNormal, streamSeed } from '../prng.ts';
import { buildClipTextGraph, buildClipVisionGraph, CLIP_LAYER_NORM_EPS } from './clip-graphs.ts';
import type { ClipConfig, ClipParams } from './clip-graphs.ts';
import { clipTokenizerFiles, clipToyVocab } from './clip-tokenizer.ts';
import { ensureCurrentExport } from '../tiny-model.ts';

/** CLIPImageProcessor's settings for ViT-B/32 (preprocessor_config.json of openai/clip-vit-base-patch32). */
export const CLIP_PREPROCESSOR_CONFIG = {
  crop_size: { height: 224, width: 224 },
  do_center_crop: true,
  do_convert_rgb: true,
  do_normalize: true,
  do_rescale: true,
  do_resize: true,
  image_mean: [0.48145466, 0.4578275, 0.40821073],
  image_processor_type: 'CLIPImageProcessor',
  image_std: [0.26862954, 0.26130258, 0.27577711],
  resample: 3,
  rescale_factor: 0.00392156862745098,
  size: { shortest_edge: 224 },
};

/** openai/clip-vit-base-patch32's shapes (ViT-B/32 and its text transformer): what the benchmark times. */
export const CLIP_B32_CONFIG: ClipConfig = {
  text: { hidden: 512, intermediate: 2048, layers: 12, heads: 8, vocabSize: 49408, maxPositions: 77 },
  vision: { hidden: 768, intermediate: 3072, layers: 12, heads: 12, imageSize: 224, patchSize: 32 },
  projectionDim: 512,
};

function tinyConfig(vocabSize: number): ClipConfig {
  const tower = { hidden: 32, intermediate: 64, layers: 2, heads: 2 };
  return {
    text: { ...tower, vocabSize, maxPositions: 77 },
    vision: { ...tower, imageSize: 224, patchSize: 32 },
    projectionDim: 16,
  };
}

/** config.json as the hub writes it for CLIPModel (the fields transformers.js and Python read). */
function hubConfig(config: ClipConfig, eosId: number): object {
  const tower = (t: ClipConfig['text' | 'vision']): object => ({
    hidden_act: 'quick_gelu',
    hidden_size: t.hidden,
    intermediate_size: t.intermediate,
    layer_norm_eps: CLIP_LAYER_NORM_EPS,
    num_attention_heads: t.heads,
    num_hidden_layers: t.layers,
    projection_dim: config.projectionDim,
  });
  return {
    architectures: ['CLIPModel'],
    logit_scale_init_value: 2.6592,
    model_type: 'clip',
    projection_dim: config.projectionDim,
    text_config: {
      ...tower(config.text),
      bos_token_id: eosId - 1,
      eos_token_id: eosId,
      max_position_embeddings: config.text.maxPositions,
      model_type: 'clip_text_model',
      pad_token_id: 1,
      vocab_size: config.text.vocabSize,
    },
    vision_config: {
      ...tower(config.vision),
      image_size: config.vision.imageSize,
      model_type: 'clip_vision_model',
      num_channels: 3,
      patch_size: config.vision.patchSize,
    },
  };
}

/** Seeded weights, one independent stream per tensor: norms near 1, kernels scaled by fan-in. */
export function randomClipParams(seed: number): ClipParams {
  return (name, dims) => {
    const out = new Float32Array(dims.reduce((a, b) => a * b, 1));
    const stream = streamSeed(seed, name);
    const isNorm = /(layer_norm\d?|layrnorm|layernorm)\.weight$/.test(name);
    if (isNorm) return fillNormal(out, stream, 1, 0.1);
    if (name.endsWith('.bias')) return fillNormal(out, stream, 0, 0.02);
    if (name.includes('embedding') || name.endsWith('class_embedding')) {
      const fanIn = name.includes('patch_embedding') ? dims.slice(1).reduce((a, b) => a * b, 1) : 1;
      return fillNormal(out, stream, 0, fanIn > 1 ? fanIn ** -0.5 : 0.5);
    }
    return fillNormal(out, stream, 0, (dims[0] ?? 1) ** -0.5);
  };
}

function describeFile(dir: string, path: string): ManifestFile {
  const hash = createHash('sha256');
  const bytes = forEachPiece(join(dir, path), 1 << 24, (piece) => hash.update(piece));
  return { path, bytes, sha256: hash.digest('hex') };
}

function writeManifest(dir: string, modelId: string, dtype: ClipDtype, logitScale: number): ClipManifest {
  const graphs = clipGraphFiles(dtype);
  const files = [...CLIP_CONFIG_FILES, graphs.text, graphs.vision].sort().map((path) => describeFile(dir, path));
  const manifest: ClipManifest = { format: CLIP_MANIFEST_FORMAT, modelId, dtype, logitScale, files };
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  // The page and the CLI read it through the same checks.
  return parseClipManifest(manifest);
}

function staged(
  out: string,
  inputs: readonly string[],
  force: boolean,
  write: (dir: string) => ClipManifest,
): ClipManifest {
  const target = checkExportTarget(out, inputs, force);
  const staging = createStaging(target);
  try {
    const manifest = write(staging);
    replaceWithStaged(staging, target);
    return manifest;
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}

export interface RandomClipOptions {
  readonly seed: number;
  readonly outDir: string;
  /** The dtype the manifest names; both fp32 and q8 (`_quantized`) graphs are written either way. */
  readonly dtype?: 'fp32' | 'q8';
  readonly force?: boolean;
}

export function exportRandomClip(options: RandomClipOptions): ClipManifest {
  return staged(options.outDir, [], options.force ?? false, (dir) => {
    const vocab = clipToyVocab();
    const config = tinyConfig(vocab.tokens.length);
    const params = randomClipParams(options.seed);
    mkdirSync(join(dir, 'onnx'));
    for (const dtype of ['fp32', 'q8'] as const) {
      const graphs = clipGraphFiles(dtype);
      const text = new GraphBuilder('text_model', null);
      buildClipTextGraph(text, params, config, dtype);
      writeFileSync(join(dir, graphs.text), text.serialize());
      const vision = new GraphBuilder('vision_model', null);
      buildClipVisionGraph(vision, params, config, dtype);
      writeFileSync(join(dir, graphs.vision), vision.serialize());
    }
    const files = {
      'config.json': `${JSON.stringify(hubConfig(config, vocab.tokens.length - 1), null, 2)}\n`,
      'preprocessor_config.json': `${JSON.stringify(CLIP_PREPROCESSOR_CONFIG, null, 2)}\n`,
      ...clipTokenizerFiles(vocab),
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return writeManifest(dir, `random-clip-tiny-seed${options.seed}`, options.dtype ?? 'fp32', OPENAI_CLIP_LOGIT_SCALE);
  });
}

export interface PackageClipOptions {
  /** A hub CLIP folder (`git clone https://huggingface.co/Xenova/clip-vit-base-patch32`). */
  readonly clipDir: string;
  readonly outDir: string;
  readonly dtype: ClipDtype;
  readonly modelId: string;
  readonly logitScale?: number;
  readonly force?: boolean;
}

/** Copies one dtype's files of a hub CLIP folder and writes the manifest beside them. */
export function packageClip(options: PackageClipOptions): ClipManifest {
  const graphs = clipGraphFiles(options.dtype);
  const needed = [...CLIP_CONFIG_FILES, graphs.text, graphs.vision];
  for (const path of needed) {
    if (!existsSync(join(options.clipDir, path)))
      throw new CheckpointError(
        `${join(options.clipDir, path)} is missing: a ${options.dtype} CLIP folder needs ${needed.join(', ')}`,
      );
  }
  return staged(options.outDir, [options.clipDir], options.force ?? false, (dir) => {
    for (const path of needed) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      copyFileSync(join(options.clipDir, path), join(dir, path));
    }
    return writeManifest(dir, options.modelId, options.dtype, options.logitScale ?? OPENAI_CLIP_LOGIT_SCALE);
  });
}

/** The seed-1 tiny CLIP the page's demo and the tests use, re-exported whenever the exporter changes. */
export function ensureTinyClip(outDir: string): string {
  return ensureCurrentExport(outDir, () => exportRandomClip({ seed: 1, outDir, force: true }));
}
