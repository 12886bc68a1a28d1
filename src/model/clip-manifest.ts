/**
 * `manifest.json` of a CLIP ranking model: the hub layout transformers.js reads
 * (`Xenova/clip-vit-base-patch32`: config.json, tokenizer files, preprocessor_config.json,
 * onnx/text_model*.onnx, onnx/vision_model*.onnx) plus what our model store needs to download and
 * verify it (every file's size and sha256). One manifest names one dtype's files, so the store
 * downloads only those.
 */
import { ManifestError, readFiles } from './manifest.ts';
import type { ManifestFile } from './manifest.ts';
import { JsonField } from './validate.ts';

export const CLIP_MANIFEST_FORMAT = 'dalle-mini-web-clip/1';

/** The dtypes of the hub's CLIP exports, as transformers.js names them (`_quantized` is q8, `_fp16` fp16). */
export const CLIP_DTYPES = ['fp32', 'fp16', 'q8'] as const;
export type ClipDtype = (typeof CLIP_DTYPES)[number];

const ONNX_SUFFIX: Readonly<Record<ClipDtype, string>> = { fp32: '', fp16: '_fp16', q8: '_quantized' };

/** The files transformers.js reads for CLIPTextModelWithProjection, CLIPVisionModelWithProjection and the tokenizer. */
export const CLIP_CONFIG_FILES = [
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'preprocessor_config.json',
] as const;

export function clipGraphFiles(dtype: ClipDtype): { readonly text: string; readonly vision: string } {
  const suffix = ONNX_SUFFIX[dtype];
  return { text: `onnx/text_model${suffix}.onnx`, vision: `onnx/vision_model${suffix}.onnx` };
}

/**
 * exp(4.6052) = 100: the trained temperature of openai/clip-vit-base-patch32 (CLIP clamps it at
 * 100). config.json's `logit_scale_init_value` (2.6592) is only the value training started from,
 * and the hub's ONNX exports drop the parameter, so the manifest carries it.
 */
export const OPENAI_CLIP_LOGIT_SCALE = Math.log(100);

export interface ClipManifest {
  readonly format: typeof CLIP_MANIFEST_FORMAT;
  readonly modelId: string;
  readonly dtype: ClipDtype;
  /** Natural log of the similarity scale: score = cosine × exp(logitScale). Ordering does not depend on it. */
  readonly logitScale: number;
  readonly files: readonly ManifestFile[];
}

const HINT = 'The CLIP folder is damaged or incomplete: package it again (npm run export -- --clip <dir>).';

/** Checks every field of a CLIP manifest.json (it may come from any server) and returns a typed copy. */
export function parseClipManifest(json: unknown, source = 'manifest.json'): ClipManifest {
  const root = JsonField.root(json, { source, error: ManifestError, hint: HINT }).object();
  root.field('format').oneOf([CLIP_MANIFEST_FORMAT]);
  const files = readFiles(root.field('files'));
  const dtype = root.field('dtype').oneOf(CLIP_DTYPES);
  const listed = new Set(files.map((file) => file.path));
  const graphs = clipGraphFiles(dtype);
  for (const path of [...CLIP_CONFIG_FILES, graphs.text, graphs.vision]) {
    if (!listed.has(path)) root.field('files').fail(`must list ${path} (transformers.js reads it for a ${dtype} CLIP)`);
  }
  const logitScale = root.field('logitScale').number();
  if (!Number.isFinite(logitScale) || logitScale < 0 || logitScale > 10)
    root
      .field('logitScale')
      .fail(`must be a number from 0 to 10 (exp(4.6052) = 100 for OpenAI's CLIP), got ${logitScale}`);
  return {
    format: CLIP_MANIFEST_FORMAT,
    modelId: root
      .field('modelId')
      .string({ maxLength: 200, pattern: /^[^\p{Cc}]+$/u, patternText: 'a name without control characters' }),
    dtype,
    logitScale,
    files,
  };
}
