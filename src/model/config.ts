/**
 * Architecture configs, read from the hub's config.json files (snake_case) into typed objects.
 * Every size in the graph code comes from here: nothing is hard-coded for mini or mega.
 */
import { ExpectedError } from '../expected-error.ts';

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
  readonly resolution: number;
  readonly zChannels: number;
  readonly embedDim: number;
  readonly nEmbed: number;
  readonly outCh: number;
}

/** DalleBart LayerNorm epsilon (spec §3.2) and VQGAN GroupNorm epsilon / groups (spec §6.3). */
export const LAYER_NORM_EPS = 1e-5;
export const GROUP_NORM_EPS = 1e-6;
export const GROUP_NORM_GROUPS = 32;

export class ConfigError extends ExpectedError {
  override name = 'ConfigError';
}

type Json = Record<string, unknown>;

/** config.json may hold any JSON: null, a number or a list would otherwise fail as a TypeError. */
function asObject(json: unknown, file: string): Json {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError(`${file} must hold a JSON object, got ${json === null ? 'null' : Array.isArray(json) ? 'an array' : typeof json}; use the config.json of the checkpoint's hub repo`);
  }
  return json as Json;
}

function int(json: Json, key: string, file: string, fallback?: number): number {
  const value = json[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new ConfigError(`${file}: "${key}" must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

function ints(json: Json, key: string, file: string, fallback?: number[]): number[] {
  const value = json[key] ?? fallback;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'number' && Number.isInteger(v))) {
    throw new ConfigError(`${file}: "${key}" must be an array of integers`);
  }
  return value as number[];
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
};

export function parseDalleBartConfig(value: unknown, file = 'config.json'): DalleBartConfig {
  const json = asObject(value, file);
  for (const [key, expected] of Object.entries(REQUIRED_DALLE_SWITCHES)) {
    if (key in json && json[key] !== expected) {
      throw new ConfigError(`${file}: "${key}" is ${JSON.stringify(json[key])}; only ${JSON.stringify(expected)} is supported`);
    }
  }
  const sinkhorn = json.sinkhorn_iters;
  if (sinkhorn !== undefined && sinkhorn !== 1) {
    throw new ConfigError(`${file}: "sinkhorn_iters" is ${JSON.stringify(sinkhorn)}; only 1 is supported`);
  }
  const config: DalleBartConfig = {
    dModel: int(json, 'd_model', file),
    encoderLayers: int(json, 'encoder_layers', file),
    decoderLayers: int(json, 'decoder_layers', file),
    encoderHeads: int(json, 'encoder_attention_heads', file),
    decoderHeads: int(json, 'decoder_attention_heads', file),
    encoderFfnDim: int(json, 'encoder_ffn_dim', file),
    decoderFfnDim: int(json, 'decoder_ffn_dim', file),
    encoderVocabSize: int(json, 'encoder_vocab_size', file),
    imageVocabSize: int(json, 'image_vocab_size', file),
    maxTextLength: int(json, 'max_text_length', file, 64),
    imageLength: int(json, 'image_length', file, 256),
    decoderStartTokenId: int(json, 'decoder_start_token_id', file, 16384),
  };
  if (config.dModel % config.encoderHeads !== 0 || config.dModel % config.decoderHeads !== 0) {
    throw new ConfigError(`${file}: d_model ${config.dModel} is not divisible by the head count`);
  }
  return config;
}

export function parseVqganConfig(value: unknown, file = 'config.json'): VqganConfig {
  const json = asObject(value, file);
  const config: VqganConfig = {
    ch: int(json, 'ch', file, 128),
    chMult: ints(json, 'ch_mult', file, [1, 1, 2, 2, 4]),
    numResBlocks: int(json, 'num_res_blocks', file, 2),
    attnResolutions: ints(json, 'attn_resolutions', file, [16]),
    resolution: int(json, 'resolution', file, 256),
    zChannels: int(json, 'z_channels', file, 256),
    embedDim: int(json, 'embed_dim', file, 256),
    nEmbed: int(json, 'n_embed', file, 16384),
    outCh: int(json, 'out_ch', file, 3),
  };
  for (const mult of config.chMult) {
    if ((config.ch * mult) % GROUP_NORM_GROUPS !== 0) {
      throw new ConfigError(`${file}: channel count ${config.ch * mult} is not divisible by ${GROUP_NORM_GROUPS} GroupNorm groups`);
    }
  }
  return config;
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
