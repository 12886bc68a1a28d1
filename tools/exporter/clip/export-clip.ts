/**
 * CLIP ranking models for the page and the CLI, in the hub layout transformers.js reads plus our
 * manifest.json (src/model/clip-manifest.ts):
 *  - `exportRandomClip`: a seeded random tiny CLIP of the real architecture (graphs built by our own
 *    ONNX builder, a small CLIP tokenizer), byte-identical for the same seed;
 *  - `packageClip`: a downloaded hub folder (`Xenova/clip-vit-base-patch32`) gets the manifest for
 *    one dtype, so a site can publish it and the model store can download and verify it; a CLIPModel
 *    folder with Flax weights (openai's, or the demo CLIP trained by tools/train) gets its graphs built
 *    from them first (clip-checkpoint.ts).
 * Both write beside --out and swap the folder in at the end (staging.ts).
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CLIP_CONFIG_FILES, OPENAI_CLIP_LOGIT_SCALE, clipGraphFiles } from '../../../src/model/clip-manifest.ts';
import type { ClipDtype, ClipManifest } from '../../../src/model/clip-manifest.ts';
import { CheckpointError } from '../checkpoint-error.ts';
import { fillNormal, streamSeed } from '../prng.ts';
import { ensureCurrentExport } from '../tiny-model.ts';
import { CLIP_WEIGHTS_FILE, openClipCheckpoint, readClipVocab } from './clip-checkpoint.ts';
import { writeClipGraphs, writeClipManifest, writeStaged } from './clip-folder.ts';
import { CLIP_LAYER_NORM_EPS } from './clip-graphs.ts';
import type { ClipConfig } from './clip-graphs.ts';
import type { ClipParams } from './clip-graphs.ts';
import { clipTokenizerFiles, clipToyVocab } from './clip-tokenizer.ts';

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

export interface RandomClipOptions {
  readonly seed: number;
  readonly outDir: string;
  /** The dtype the manifest names; both fp32 and q8 (`_quantized`) graphs are written either way. */
  readonly dtype?: 'fp32' | 'q8';
  readonly force?: boolean;
  /** The manifest's model id; `random-clip-tiny-seed<seed>` by default. */
  readonly modelId?: string;
}

export function exportRandomClip(options: RandomClipOptions): ClipManifest {
  return writeStaged(options.outDir, [], options.force ?? false, (dir) => {
    const vocab = clipToyVocab();
    const config = tinyConfig(vocab.tokens.length);
    const params = randomClipParams(options.seed);
    for (const dtype of ['fp32', 'q8'] as const) writeClipGraphs(dir, params, config, dtype);
    const files = {
      'config.json': `${JSON.stringify(hubConfig(config, vocab.tokens.length - 1), null, 2)}\n`,
      'preprocessor_config.json': `${JSON.stringify(CLIP_PREPROCESSOR_CONFIG, null, 2)}\n`,
      ...clipTokenizerFiles(vocab),
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return writeClipManifest(
      dir,
      options.modelId ?? `random-clip-tiny-seed${options.seed}`,
      options.dtype ?? 'fp32',
      OPENAI_CLIP_LOGIT_SCALE,
    );
  });
}

export interface PackageClipOptions {
  /**
   * A hub CLIP folder: with ONNX graphs (`git clone https://huggingface.co/Xenova/clip-vit-base-patch32`), or a
   * CLIPModel with Flax weights (config.json, flax_model.msgpack, tokenizer files), whose graphs are built here.
   */
  readonly clipDir: string;
  readonly outDir: string;
  readonly dtype: ClipDtype;
  readonly modelId: string;
  /** Default: the checkpoint's trained `logit_scale` for Flax weights, ln 100 (openai's) for ONNX folders. */
  readonly logitScale?: number;
  readonly force?: boolean;
}

/** Copies one dtype's files of a hub CLIP folder (or builds its graphs from Flax weights) and writes the manifest. */
export function packageClip(options: PackageClipOptions): ClipManifest {
  const graphs = clipGraphFiles(options.dtype);
  const has = (path: string): boolean => existsSync(join(options.clipDir, path));
  if (!has(graphs.text) && has(CLIP_WEIGHTS_FILE)) return exportClipWeights(options);
  const needed = [...CLIP_CONFIG_FILES, graphs.text, graphs.vision];
  for (const path of needed) {
    if (!has(path))
      throw new CheckpointError(
        `${join(options.clipDir, path)} is missing: a ${options.dtype} CLIP folder needs ${needed.join(', ')}` +
          ` (or ${CLIP_WEIGHTS_FILE} to build them from)`,
      );
  }
  return writeStaged(options.outDir, [options.clipDir], options.force ?? false, (dir) => {
    for (const path of needed) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      copyFileSync(join(options.clipDir, path), join(dir, path));
    }
    return writeClipManifest(dir, options.modelId, options.dtype, options.logitScale ?? OPENAI_CLIP_LOGIT_SCALE);
  });
}

/** A CLIPModel with Flax weights (clip-checkpoint.ts): our graphs from its weights, its tokenizer in tokenizer.json. */
function exportClipWeights(options: PackageClipOptions): ClipManifest {
  const { clipDir, dtype } = options;
  if (dtype !== 'fp32' && dtype !== 'q8')
    throw new CheckpointError(`a CLIP exported from ${CLIP_WEIGHTS_FILE} can be fp32 or q8, not ${dtype}`);
  const has = (path: string): boolean => existsSync(join(clipDir, path));
  const tokenizer =
    has('tokenizer.json') && has('tokenizer_config.json') ? null : clipTokenizerFiles(readClipVocab(clipDir));
  const checkpoint = openClipCheckpoint(clipDir);
  try {
    const { imageSize } = checkpoint.config.vision;
    if (!has('preprocessor_config.json') && imageSize !== CLIP_PREPROCESSOR_CONFIG.crop_size.height)
      throw new CheckpointError(`${clipDir} needs a preprocessor_config.json for its ${imageSize}-pixel images`);
    return writeStaged(options.outDir, [clipDir], options.force ?? false, (dir) => {
      writeClipGraphs(dir, checkpoint.params, checkpoint.config, dtype);
      copyFileSync(join(clipDir, 'config.json'), join(dir, 'config.json'));
      for (const [name, text] of Object.entries(tokenizer ?? {})) writeFileSync(join(dir, name), text);
      const copied = [...(tokenizer ? [] : ['tokenizer.json', 'tokenizer_config.json']), 'preprocessor_config.json'];
      for (const path of copied.filter(has)) copyFileSync(join(clipDir, path), join(dir, path));
      if (!has('preprocessor_config.json'))
        writeFileSync(join(dir, 'preprocessor_config.json'), `${JSON.stringify(CLIP_PREPROCESSOR_CONFIG, null, 2)}\n`);
      return writeClipManifest(dir, options.modelId, dtype, options.logitScale ?? checkpoint.logitScale);
    });
  } finally {
    checkpoint.close();
  }
}

/** The seed-1 tiny CLIP the page's demo and the tests use, re-exported whenever the exporter changes. */
export function ensureTinyClip(outDir: string): string {
  return ensureCurrentExport(outDir, () => exportRandomClip({ seed: 1, outDir, force: true }));
}
