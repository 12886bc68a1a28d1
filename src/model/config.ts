/**
 * Architecture configs, read into typed objects from the hub's config.json files (snake_case) and
 * from manifest.json (camelCase) under one set of rules and bounds. Every size in the graph code
 * comes from here: nothing is hard-coded for mini or mega.
 */
import { JsonField } from './validate.ts';
import type { IntBounds } from './validate.ts';
import { ExpectedError } from '../core/expected-error.ts';

export interface DalleBartConfig {
  readonly dModel: number;
  readonly encoderLayers: number;
  readonly decoderLayers: number;
  readonly encoderHeads: number;
  readonly decoderHeads: number;
  readonly encoderFfnDim: number;
  readonly decoderFfnDim: number;
  /** Rows of the text embedding table. */
  readonly encoderVocabSize: number;
  /** Number of image codes; the decoder embedding and lm_head have one more row (the start token). */
  readonly imageVocabSize: number;
  readonly maxTextLength: number;
  readonly imageLength: number;
  readonly decoderStartTokenId: number;
}

export interface VqganConfig {
  readonly ch: number;
  readonly chMult: readonly number[];
  readonly numResBlocks: number;
  readonly attnResolutions: readonly number[];
  /**
   * The hub config.json key (taming-transformers' name), kept as read from checkpoints: the VQGAN's
   * output resolution. Everywhere else the pixel side of an output image is called `imageSize`.
   */
  readonly resolution: number;
  readonly zChannels: number;
  readonly embedDim: number;
  readonly nEmbed: number;
  readonly outCh: number;
}

/**
 * DalleBart LayerNorm epsilon (docs/model-format.md#layer-norm) and VQGAN GroupNorm epsilon /
 * groups (docs/model-format.md#vqgan-blocks).
 */
export const LAYER_NORM_EPS = 1e-5;
export const GROUP_NORM_EPS = 1e-6;
export const GROUP_NORM_GROUPS = 32;

export class ConfigError extends ExpectedError {
  override name = 'ConfigError';
}

type Json = Record<string, unknown>;

/**
 * The hub's config.json spells fields in snake_case and may omit some; manifest.json spells them as
 * the types do, all present.
 */
export type ConfigNaming = 'hub' | 'manifest';

const CONFIG_HINT = 'Only DALL·E Mini / Mega and their VQGAN checkpoints are supported.';

/** Reads integer fields under either naming: one rule (bounds, hub default) per field. */
function intReader(json: JsonField, naming: ConfigNaming) {
  return (key: string, hubKey: string, bounds: IntBounds, hubDefault?: number): number => {
    const field = json.field(naming === 'hub' ? hubKey : key);
    return naming === 'hub' && !field.present && hubDefault !== undefined ? hubDefault : field.int(bounds);
  };
}

/** config.json may hold any JSON: null, a number or a list would otherwise fail as a TypeError. */
function asObject(json: unknown, file: string): Json {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError(
      `${file} must hold a JSON object, got ${json === null ? 'null' : Array.isArray(json) ? 'an array' : typeof json}; use the config.json of the checkpoint's hub repo`,
    );
  }
  return json as Json;
}

function fieldOf(json: JsonField, naming: ConfigNaming, key: string, hubKey: string): JsonField {
  return json.field(naming === 'hub' ? hubKey : key);
}

/** Bounds well above mega's sizes: large enough for any released model, small enough that no size overflows. */
const LAYERS = { min: 1, max: 256 };
const HEADS = { min: 1, max: 256 };
const VOCAB = { min: 1, max: 1_000_000 };

export function readDalleBartConfig(json: JsonField, naming: ConfigNaming): DalleBartConfig {
  const int = intReader(json.object(), naming);
  const config: DalleBartConfig = {
    dModel: int('dModel', 'd_model', { min: 1, max: 16384 }),
    encoderLayers: int('encoderLayers', 'encoder_layers', LAYERS),
    decoderLayers: int('decoderLayers', 'decoder_layers', LAYERS),
    encoderHeads: int('encoderHeads', 'encoder_attention_heads', HEADS),
    decoderHeads: int('decoderHeads', 'decoder_attention_heads', HEADS),
    encoderFfnDim: int('encoderFfnDim', 'encoder_ffn_dim', { min: 1, max: 131072 }),
    decoderFfnDim: int('decoderFfnDim', 'decoder_ffn_dim', { min: 1, max: 131072 }),
    encoderVocabSize: int('encoderVocabSize', 'encoder_vocab_size', VOCAB),
    imageVocabSize: int('imageVocabSize', 'image_vocab_size', VOCAB),
    maxTextLength: int('maxTextLength', 'max_text_length', { min: 2, max: 4096 }, 64),
    imageLength: int('imageLength', 'image_length', { min: 1, max: 65536 }, 256),
    decoderStartTokenId: int('decoderStartTokenId', 'decoder_start_token_id', { min: 0, max: VOCAB.max }, 16384),
  };
  const dModel = fieldOf(json, naming, 'dModel', 'd_model');
  if (config.dModel % config.encoderHeads !== 0 || config.dModel % config.decoderHeads !== 0) {
    dModel.fail(`is ${config.dModel}, which is not divisible by the head count`);
  }
  if (config.decoderStartTokenId > config.imageVocabSize) {
    // The decoder embedding has imageVocabSize + 1 rows: the codes and the start token.
    fieldOf(json, naming, 'decoderStartTokenId', 'decoder_start_token_id').fail(
      `is ${config.decoderStartTokenId}, beyond the image vocabulary (${config.imageVocabSize})`,
    );
  }
  return config;
}

/** The switches our graphs implement; a checkpoint that turns on another variant is refused. */
const REQUIRED_DALLE_SWITCHES: Record<string, unknown> = {
  ln_type: 'layernorm',
  ln_positions: 'normformer',
  use_glu: true,
  use_bias: false,
  force_ln_scale: false,
  scale_embedding: false,
  use_head_scale: false,
  use_cosine_attention: false,
  use_swin_position_embeddings: false,
  use_deepnet_scaling: false,
  use_alibi: false,
  use_final_ln_encoder: true,
  use_final_ln_decoder: true,
  // Exact (erf) GELU, learned positions added to the embeddings, and the prompt normalised (the page always does).
  activation_function: 'gelu',
  use_absolute_position_embeddings: true,
  normalize_text: true,
};

export function parseDalleBartConfig(value: unknown, file = 'config.json'): DalleBartConfig {
  const json = asObject(value, file);
  for (const [key, expected] of Object.entries(REQUIRED_DALLE_SWITCHES)) {
    if (key in json && json[key] !== expected) {
      throw new ConfigError(
        `${file}: "${key}" is ${JSON.stringify(json[key])}; only ${JSON.stringify(expected)} is supported`,
      );
    }
  }
  const sinkhorn = json.sinkhorn_iters;
  if (sinkhorn !== undefined && sinkhorn !== 1) {
    throw new ConfigError(`${file}: "sinkhorn_iters" is ${JSON.stringify(sinkhorn)}; only 1 is supported`);
  }
  return readDalleBartConfig(JsonField.root(json, { source: file, error: ConfigError, hint: CONFIG_HINT }), 'hub');
}

export function readVqganConfig(json: JsonField, naming: ConfigNaming): VqganConfig {
  const int = intReader(json.object(), naming);
  const ints = (key: string, hubKey: string, length: IntBounds, each: IntBounds, hubDefault: number[]): number[] => {
    const field = fieldOf(json, naming, key, hubKey);
    return naming === 'hub' && !field.present ? hubDefault : field.ints(length, each);
  };
  const config: VqganConfig = {
    ch: int('ch', 'ch', { min: 1, max: 4096 }, 128),
    chMult: ints('chMult', 'ch_mult', { min: 1, max: 8 }, { min: 1, max: 64 }, [1, 1, 2, 2, 4]),
    numResBlocks: int('numResBlocks', 'num_res_blocks', { min: 0, max: 64 }, 2),
    attnResolutions: ints('attnResolutions', 'attn_resolutions', { min: 0, max: 16 }, { min: 1, max: 4096 }, [16]),
    resolution: int('resolution', 'resolution', { min: 1, max: 4096 }, 256),
    zChannels: int('zChannels', 'z_channels', { min: 1, max: 8192 }, 256),
    embedDim: int('embedDim', 'embed_dim', { min: 1, max: 8192 }, 256),
    nEmbed: int('nEmbed', 'n_embed', VOCAB, 16384),
    // The page and the PNG writer draw RGB.
    outCh: int('outCh', 'out_ch', { min: 3, max: 3 }, 3),
  };
  for (const mult of config.chMult) {
    if ((config.ch * mult) % GROUP_NORM_GROUPS !== 0) {
      fieldOf(json, naming, 'ch', 'ch').fail(
        `times ${mult} is ${config.ch * mult} channels, which ${GROUP_NORM_GROUPS} GroupNorm groups do not divide`,
      );
    }
  }
  const grid = vqganGridSize(config);
  if (!Number.isInteger(grid) || grid < 1) {
    fieldOf(json, naming, 'resolution', 'resolution').fail(
      `is ${config.resolution}, which ${config.chMult.length - 1} upsamplings by 2 do not reach from a whole grid`,
    );
  }
  return config;
}

export function parseVqganConfig(value: unknown, file = 'config.json'): VqganConfig {
  return readVqganConfig(
    JsonField.root(asObject(value, file), { source: file, error: ConfigError, hint: CONFIG_HINT }),
    'hub',
  );
}

/** Side of the code grid the VQGAN decoder consumes (16 for the released f16 model). */
export function vqganGridSize(config: VqganConfig): number {
  return config.resolution / 2 ** (config.chMult.length - 1);
}

/** Block channel count at level `level` (0 = full resolution). */
export function vqganLevelChannels(config: VqganConfig, level: number): number {
  const mult = config.chMult[level];
  if (mult === undefined) throw new ConfigError(`VQGAN level ${level} does not exist`);
  return config.ch * mult;
}

export function toDalleBartConfigJson(config: DalleBartConfig, extra: Json = {}): Json {
  return {
    architectures: ['DalleBart'],
    d_model: config.dModel,
    encoder_layers: config.encoderLayers,
    decoder_layers: config.decoderLayers,
    encoder_attention_heads: config.encoderHeads,
    decoder_attention_heads: config.decoderHeads,
    encoder_ffn_dim: config.encoderFfnDim,
    decoder_ffn_dim: config.decoderFfnDim,
    encoder_vocab_size: config.encoderVocabSize,
    image_vocab_size: config.imageVocabSize,
    max_text_length: config.maxTextLength,
    image_length: config.imageLength,
    decoder_start_token_id: config.decoderStartTokenId,
    bos_token_id: config.imageVocabSize + 1,
    eos_token_id: config.imageVocabSize + 1,
    pad_token_id: config.imageVocabSize + 1,
    activation_function: 'gelu',
    ...Object.fromEntries(Object.entries(REQUIRED_DALLE_SWITCHES)),
    sinkhorn_iters: 1,
    use_absolute_position_embeddings: true,
    tie_word_embeddings: false,
    normalize_text: true,
    use_scan: true,
    ...extra,
  };
}

export function toVqganConfigJson(config: VqganConfig): Json {
  return {
    ch: config.ch,
    ch_mult: [...config.chMult],
    num_res_blocks: config.numResBlocks,
    attn_resolutions: [...config.attnResolutions],
    resolution: config.resolution,
    z_channels: config.zChannels,
    embed_dim: config.embedDim,
    n_embed: config.nEmbed,
    out_ch: config.outCh,
    double_z: false,
    dropout: 0,
    resamp_with_conv: true,
  };
}
