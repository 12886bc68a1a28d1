/**
 * The names every exported model's graphs agree on: which graphs there are and what their inputs and
 * outputs are called. The exporter declares exactly these; the engine, the session options and the
 * tests feed and read them through this module, and tests/graph-io.test.ts checks an exported model
 * against it. Shapes and dtypes: docs/model-format.md#graphs.
 */
import type { DalleBartConfig } from './config.ts';

/** In the order sessions are created. */
export const GRAPH_NAMES = Object.freeze(['encoder', 'decoder', 'vqgan'] as const);
export type GraphName = (typeof GRAPH_NAMES)[number];

/** The symbolic batch axis of every graph input and output that has one. */
export const BATCH_AXIS = 'batch';
/**
 * The symbolic text axis of the encoder's inputs and outputs and the decoder's `attention_mask` and cross
 * keys/values (graphs whose manifest entry has `dynamicTextLength`; older ones are fixed at `maxTextLength`).
 */
export const TEXT_AXIS = 'text';
/**
 * The symbolic slot axis of `past.*` in the decoder's host-cache file (`hostCacheFile`): a caller that keeps the cache
 * itself passes only the slots allocated so far, not all `imageLength` (docs/model-format.md#kv-cache).
 */
export const PAST_SLOTS_AXIS = 'past_slots';

export const ENCODER_INPUTS = Object.freeze({ inputIds: 'input_ids', attentionMask: 'attention_mask' } as const);
/** Besides these, the encoder outputs `crossAttentionNames`. */
export const ENCODER_OUTPUTS = Object.freeze({ lastHiddenState: 'last_hidden_state' } as const);
/** Besides these, the decoder reads `crossAttentionNames` and `cacheNames(…, 'past')`. */
export const DECODER_INPUTS = Object.freeze({
  inputIds: 'input_ids',
  position: 'position',
  attentionMask: 'attention_mask',
} as const);
/**
 * Besides these, the decoder outputs `cacheNames(…, 'present')`, then `newSlotNames` (models exported before those have
 * only `present`).
 */
export const DECODER_OUTPUTS = Object.freeze({ logits: 'logits' } as const);
export const VQGAN_INPUTS = Object.freeze({ codes: 'codes' } as const);
export const VQGAN_OUTPUTS = Object.freeze({ pixels: 'pixels' } as const);

/** One decoder layer's key and value tensor names. */
export interface KeyValueNames {
  readonly key: string;
  readonly value: string;
}

/** `past` is the self-attention cache the decoder reads, `present` the updated cache it returns. */
export type CacheKind = 'past' | 'present';

/** Only the decoder's depth matters: there is one cross and one cache entry per decoder layer. */
type LayerCount = Pick<DalleBartConfig, 'decoderLayers'>;

function perDecoderLayer(prefix: 'cross' | 'new' | CacheKind, config: LayerCount): readonly KeyValueNames[] {
  return Array.from({ length: config.decoderLayers }, (_, layer) => ({
    key: `${prefix}.${layer}.key`,
    value: `${prefix}.${layer}.value`,
  }));
}

/** The cross-attention keys/values the encoder computes once per prompt, one pair per decoder layer. */
export function crossAttentionNames(config: LayerCount): readonly KeyValueNames[] {
  return perDecoderLayer('cross', config);
}

/** The decoder's self-attention cache, one pair per decoder layer: `past` in, `present` out. */
export function cacheNames(config: LayerCount, kind: CacheKind): readonly KeyValueNames[] {
  return perDecoderLayer(kind, config);
}

/**
 * The decoder's key/value for this step's slot alone (`new.l.key`, `new.l.value`: [B, d], laid out as [B, H, hd]; older
 * exports declare them [B, H, hd, 1] / [B, H, 1, hd], the same values in the same order): a caller that keeps the cache
 * itself writes them into slot `position` of its `past.*` buffers and fetches no `present.*`, so the whole cache never
 * leaves the runtime's memory (docs/model-format.md#kv-cache).
 */
export function newSlotNames(config: LayerCount): readonly KeyValueNames[] {
  return perDecoderLayer('new', config);
}

/** A `present.*` decoder output and the `past.*` input it becomes on the next step. */
export interface CacheLink {
  readonly present: string;
  readonly past: string;
}

/** Every cache tensor's link, key then value per decoder layer. */
export function cacheFeedback(config: LayerCount): readonly CacheLink[] {
  const past = cacheNames(config, 'past');
  return cacheNames(config, 'present').flatMap((present, layer) => [
    { present: present.key, past: past[layer]!.key },
    { present: present.value, past: past[layer]!.value },
  ]);
}

const flatten = (pairs: readonly KeyValueNames[]): string[] => pairs.flatMap(({ key, value }) => [key, value]);

type NamesFor = (config: LayerCount) => readonly string[];

/** Each graph's input names in the order the exporter declares them (and ONNX Runtime lists them). */
const INPUT_NAMES: Readonly<Record<GraphName, NamesFor>> = {
  encoder: () => [ENCODER_INPUTS.inputIds, ENCODER_INPUTS.attentionMask],
  decoder: (config) => [
    DECODER_INPUTS.inputIds,
    DECODER_INPUTS.position,
    DECODER_INPUTS.attentionMask,
    ...flatten(crossAttentionNames(config)),
    ...flatten(cacheNames(config, 'past')),
  ],
  vqgan: () => [VQGAN_INPUTS.codes],
};

const OUTPUT_NAMES: Readonly<Record<GraphName, NamesFor>> = {
  encoder: (config) => [ENCODER_OUTPUTS.lastHiddenState, ...flatten(crossAttentionNames(config))],
  decoder: (config) => [
    ...flatten(cacheNames(config, 'present')),
    DECODER_OUTPUTS.logits,
    ...flatten(newSlotNames(config)),
  ],
  vqgan: () => [VQGAN_OUTPUTS.pixels],
};

/** A graph's input names, in declaration order. */
export function graphInputNames(graph: GraphName, config: LayerCount): readonly string[] {
  return INPUT_NAMES[graph](config);
}

/** A graph's output names, in declaration order. */
export function graphOutputNames(graph: GraphName, config: LayerCount): readonly string[] {
  return OUTPUT_NAMES[graph](config);
}
