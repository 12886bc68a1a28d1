/**
 * A CLIP checkpoint in the layout of a hub CLIPModel folder with Flax weights (`config.json`,
 * `flax_model.msgpack`, and either `tokenizer.json` or CLIPTokenizer's `vocab.json` + `merges.txt`),
 * as openai/clip-vit-base-patch32 ships and tools/train/train_clip.py writes: read here into the
 * config, the weights (by the names clip-graphs.ts asks for) and the trained logit scale, so the
 * exporter builds the two ONNX graphs transformers.js runs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError } from '../checkpoint-error.ts';
import { FlaxCheckpoint } from '../flax-msgpack.ts';
import { CheckpointParams } from '../params.ts';
import type { ClipConfig, ClipParams } from './clip-graphs.ts';
import { END_OF_TEXT, START_OF_TEXT } from './clip-tokenizer.ts';
import type { ClipVocab } from './clip-tokenizer.ts';

export const CLIP_WEIGHTS_FILE = 'flax_model.msgpack';

export interface ClipCheckpoint {
  readonly config: ClipConfig;
  readonly params: ClipParams;
  /** `logit_scale` as trained (natural log of the similarity scale). */
  readonly logitScale: number;
  close(): void;
}

function readJson(file: string): Record<string, unknown> {
  if (!existsSync(file)) throw new CheckpointError(`${file} is missing`);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CheckpointError(`${file} is not valid JSON (${(error as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new CheckpointError(`${file} must hold a JSON object`);
  return value as Record<string, unknown>;
}

function section(file: string, json: Record<string, unknown>, key: string): Record<string, unknown> {
  const value = json[key];
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new CheckpointError(`${file}: "${key}" must be an object (a CLIPModel config.json)`);
  return value as Record<string, unknown>;
}

function int(file: string, json: Record<string, unknown>, key: string, where: string): number {
  const value = json[key];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > 1 << 20)
    throw new CheckpointError(
      `${file}: "${where}${key}" must be a positive whole number, got ${JSON.stringify(value)}`,
    );
  return value;
}

export function readClipConfig(file: string): ClipConfig {
  const json = readJson(file);
  if (json.model_type !== 'clip') throw new CheckpointError(`${file}: "model_type" must be "clip" (a CLIPModel)`);
  const text = section(file, json, 'text_config');
  const vision = section(file, json, 'vision_config');
  const tower = (t: Record<string, unknown>, where: string) => {
    const act = t.hidden_act ?? 'quick_gelu';
    if (act !== 'quick_gelu')
      throw new CheckpointError(`${file}: "${where}hidden_act" must be "quick_gelu", got ${JSON.stringify(act)}`);
    const config = {
      hidden: int(file, t, 'hidden_size', where),
      intermediate: int(file, t, 'intermediate_size', where),
      layers: int(file, t, 'num_hidden_layers', where),
      heads: int(file, t, 'num_attention_heads', where),
    };
    if (config.hidden % config.heads !== 0)
      throw new CheckpointError(`${file}: "${where}hidden_size" must be a multiple of num_attention_heads`);
    return config;
  };
  const config: ClipConfig = {
    text: {
      ...tower(text, 'text_config.'),
      vocabSize: int(file, text, 'vocab_size', 'text_config.'),
      maxPositions: int(file, text, 'max_position_embeddings', 'text_config.'),
    },
    vision: {
      ...tower(vision, 'vision_config.'),
      imageSize: int(file, vision, 'image_size', 'vision_config.'),
      patchSize: int(file, vision, 'patch_size', 'vision_config.'),
    },
    projectionDim: int(file, json, 'projection_dim', ''),
  };
  if (config.vision.imageSize % config.vision.patchSize !== 0)
    throw new CheckpointError(`${file}: "vision_config.image_size" must be a multiple of patch_size`);
  return config;
}

/**
 * clip-graphs.ts names weights as transformers' PyTorch CLIPModel does, kernels [in, out] and the
 * patch convolution [d, 3, p, p]; Flax stores `kernel` [in, out], the convolution [p, p, 3, d],
 * `embedding` for tables and `scale` for LayerNorm weights.
 */
function flaxPath(name: string): { path: string; convolution: boolean } {
  const parts = name.split('.');
  const leaf = parts.pop()!;
  const owner = parts[parts.length - 1] ?? '';
  const base = parts.join('/');
  if (leaf !== 'weight') return { path: [...parts, leaf].join('/'), convolution: false };
  if (owner === 'patch_embedding') return { path: `${base}/kernel`, convolution: true };
  if (owner.endsWith('embedding')) return { path: `${base}/embedding`, convolution: false };
  if (/norm/.test(owner)) return { path: `${base}/scale`, convolution: false };
  return { path: `${base}/kernel`, convolution: false };
}

/** [p, p, c, d] (HWIO) → [d, c, p, p] (OIHW, ONNX's Conv weight). */
function hwioToOihw(values: Float32Array, [h, w, c, d]: readonly number[]): Float32Array {
  const out = new Float32Array(values.length);
  for (let y = 0; y < h!; y++)
    for (let x = 0; x < w!; x++)
      for (let i = 0; i < c!; i++)
        for (let o = 0; o < d!; o++) out[((o * c! + i) * h! + y) * w! + x] = values[((y * w! + x) * c! + i) * d! + o]!;
  return out;
}

export function openClipCheckpoint(dir: string): ClipCheckpoint {
  const config = readClipConfig(join(dir, 'config.json'));
  const checkpoint = FlaxCheckpoint.open(join(dir, CLIP_WEIGHTS_FILE));
  try {
    const weights = new CheckpointParams(checkpoint);
    const params: ClipParams = (name, dims) => {
      const { path, convolution } = flaxPath(name);
      const shape = checkpoint.leaf(path).shape;
      const expected = convolution ? [dims[2], dims[3], dims[1], dims[0]] : dims;
      if (shape.length !== expected.length || shape.some((d, i) => d !== expected[i]))
        throw new CheckpointError(
          `${checkpoint.file}: tensor "${path}" has shape [${shape.join(', ')}], config.json implies [${expected.join(', ')}]`,
        );
      const values = weights.read(path);
      return convolution ? hwioToOihw(values, shape) : values;
    };
    const scale = checkpoint.leaf('logit_scale');
    if (scale.shape.length > 1 || (scale.shape[0] ?? 1) !== 1)
      throw new CheckpointError(`${checkpoint.file}: tensor "logit_scale" must hold one number`);
    return { config, params, logitScale: weights.read('logit_scale')[0]!, close: () => checkpoint.close() };
  } catch (error) {
    checkpoint.close();
    throw error;
  }
}

/**
 * CLIPTokenizer's vocab.json + merges.txt as a ClipVocab (tokens in id order). The ids must run
 * 0 … n − 1 with the two specials last, as in openai's vocab: the text graph pools at the largest id.
 */
export function readClipVocab(dir: string): ClipVocab {
  const vocabFile = join(dir, 'vocab.json');
  const vocab = readJson(vocabFile);
  const tokens: string[] = [];
  for (const [token, id] of Object.entries(vocab)) {
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0 || id >= Object.keys(vocab).length || tokens[id])
      throw new CheckpointError(`${vocabFile}: the ids must be 0 … n − 1, each once ("${token}": ${String(id)})`);
    tokens[id] = token;
  }
  if (tokens[tokens.length - 2] !== START_OF_TEXT || tokens[tokens.length - 1] !== END_OF_TEXT)
    throw new CheckpointError(`${vocabFile}: the last two ids must be ${START_OF_TEXT} and ${END_OF_TEXT}`);
  const mergesFile = join(dir, 'merges.txt');
  if (!existsSync(mergesFile)) throw new CheckpointError(`${mergesFile} is missing`);
  const merges = readFileSync(mergesFile, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#version'));
  for (const merge of merges)
    if (merge.split(' ').length !== 2) throw new CheckpointError(`${mergesFile}: "${merge}" is not a pair of symbols`);
  return { tokens, merges };
}
