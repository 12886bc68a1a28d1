/**
 * `models/catalog.json`: the models a site offers and where their exported folders live. The page
 * reads it first; a model's own manifest.json stays the truth about its files. A site owner edits
 * the catalog (or `npm run export -- --catalog <file>` writes an entry) to point at a folder on the
 * same site or on any host that allows CORS, such as a Hugging Face repo's `resolve/main/` URL.
 */
import { ExpectedError } from '../core/expected-error.ts';
import { CLIP_DTYPES } from './clip-manifest.ts';
import type { ClipDtype } from './clip-manifest.ts';
import { MODEL_DTYPES } from './manifest.ts';
import type { ModelDtype } from './manifest.ts';
import { refuseNewerFormat } from './format-version.ts';
import { JsonField } from './validate.ts';

export const CATALOG_FORMAT = 'dalle-mini-web-catalog/1';

export class CatalogError extends ExpectedError {
  override name = 'CatalogError';
}

export interface ModelRequirements {
  /** Runs only on WebGPU (too large or too slow for WASM). */
  readonly webgpu: boolean;
  /** fp16 graphs need the adapter's `shader-f16` feature. */
  readonly shaderF16: boolean;
  /** Memory the loaded model needs, roughly: weights as the runtime holds them plus one batch's activations. */
  readonly memoryBytes: number;
}

export interface CatalogModel {
  /** What `?model=` names: lowercase letters, digits and dashes. */
  readonly id: string;
  readonly name: string;
  readonly description: string;
  /** Folder holding manifest.json: relative to the catalog file, or an absolute http(s) URL. */
  readonly url: string;
  readonly dtype: ModelDtype;
  /** Download size as the exporter measured it; the manifest's figure wins once it is fetched. */
  readonly bytes?: number;
  readonly requires: ModelRequirements;
  /** A synthetic checkpoint of the real architecture: it draws noise, and says so. */
  readonly randomWeights: boolean;
  /** False only for small bundled models, which load without the consent panel. */
  readonly askBeforeDownload: boolean;
  /**
   * Prompts this model draws well, offered on a first visit (English: the models read English only). Empty when the
   * entry names none: the page then offers no examples rather than ones another model would draw.
   */
  readonly examples: readonly string[];
  /**
   * The sampling settings this model draws best with, where they differ from dalle-mini's defaults; the app uses
   * them for any setting the visitor has not set. Empty when the entry names none.
   */
  readonly sampling: SuggestedSampling;
}

/** A model's suggested sampling settings; the fields match the sampler's SamplingSettings. */
export interface SuggestedSampling {
  readonly conditionScale?: number;
  readonly topK?: number;
  readonly topP?: number;
  readonly temperature?: number;
}

/** A CLIP ranker the page may download to rank best-of-N drawings (src/model/clip-manifest.ts). */
export interface CatalogRanker {
  readonly id: string;
  readonly name: string;
  /** Folder holding the CLIP manifest.json: relative to the catalog file, or an absolute http(s) URL. */
  readonly url: string;
  readonly dtype: ClipDtype;
  readonly bytes?: number;
  /** Memory the two CLIP sessions need, roughly; ranking starts off where the device reports less spare. */
  readonly memoryBytes: number;
  /** Random weights: its scores mean nothing, and the page pairs it with random-weight models. */
  readonly randomWeights: boolean;
  readonly askBeforeDownload: boolean;
}

export interface ModelCatalog {
  /** The first model is the default. */
  readonly models: readonly CatalogModel[];
  /** CLIP rankers; optional in the file (no rankers: ranking is not offered). */
  readonly rankers: readonly CatalogRanker[];
}

const HINT = 'Fix the catalog file (see README → Publish a model).';
const ID_PATTERN = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const MAX_BYTES = 2 ** 40;
const MAX_EXAMPLES = 12;
/** One line of text with no space at either end: what a prompt button shows. */
const EXAMPLE_PATTERN = /^\S(?:[^\n\r]*\S)?$/;

function readUrl(field: JsonField): string {
  const url = field.string({ maxLength: 2048 });
  // Relative folders stay on this site; absolute ones must be http(s) (no data:, javascript:, file:).
  if (/^[a-z][a-z0-9+.-]*:/i.test(url) && !/^https?:\/\//i.test(url))
    field.fail('must be a relative folder or an http(s) URL');
  if (!url.endsWith('/')) field.fail('must end with "/" (it names the folder holding manifest.json)');
  return url;
}

function readModel(field: JsonField): CatalogModel {
  const model = field.object();
  const requires = model.field('requires').object();
  const bytes = model.field('bytes').optional((f) => f.int({ min: 1, max: MAX_BYTES }));
  return {
    id: model
      .field('id')
      .string({ maxLength: 64, pattern: ID_PATTERN, patternText: 'lowercase letters, digits and single dashes' }),
    name: model.field('name').string({ maxLength: 80 }),
    description: model.field('description').string({ maxLength: 300 }),
    url: readUrl(model.field('url')),
    dtype: model.field('dtype').oneOf(MODEL_DTYPES),
    ...(bytes === undefined ? {} : { bytes }),
    requires: {
      webgpu: requires.field('webgpu').boolean(),
      shaderF16: requires.field('shaderF16').boolean(),
      memoryBytes: requires.field('memoryBytes').int({ min: 0, max: MAX_BYTES }),
    },
    randomWeights: model.field('randomWeights').optional((f) => f.boolean()) ?? false,
    askBeforeDownload: model.field('askBeforeDownload').optional((f) => f.boolean()) ?? true,
    examples: model.field('examples').optional(readExamples) ?? [],
    sampling: model.field('sampling').optional(readSampling) ?? {},
  };
}

/** A bounded number: the same limits the settings panel allows. */
function readNumber(field: JsonField, min: number, max: number): number {
  const value = field.number();
  if (!(Number.isFinite(value) && value >= min && value <= max)) field.fail(`must be a number from ${min} to ${max}`);
  return value;
}

function readSampling(field: JsonField): SuggestedSampling {
  const sampling = field.object();
  const conditionScale = sampling.field('conditionScale').optional((f) => readNumber(f, 0, 100));
  // 0 turns top-k off; the VQGAN has 16384 codes.
  const topK = sampling.field('topK').optional((f) => f.int({ min: 0, max: 16384 }));
  const topP = sampling.field('topP').optional((f) => readNumber(f, 0.01, 1));
  const temperature = sampling.field('temperature').optional((f) => readNumber(f, 0.01, 10));
  return {
    ...(conditionScale === undefined ? {} : { conditionScale }),
    ...(topK === undefined ? {} : { topK }),
    ...(topP === undefined ? {} : { topP }),
    ...(temperature === undefined ? {} : { temperature }),
  };
}

function readExamples(field: JsonField): string[] {
  const examples: string[] = [];
  for (const item of field.items({ min: 0, max: MAX_EXAMPLES })) {
    const example = item.string({
      maxLength: 200,
      pattern: EXAMPLE_PATTERN,
      patternText: 'one line, no space at either end',
    });
    if (examples.includes(example)) item.fail(`repeats the example "${example}"`);
    examples.push(example);
  }
  return examples;
}

function readRanker(field: JsonField): CatalogRanker {
  const ranker = field.object();
  const bytes = ranker.field('bytes').optional((f) => f.int({ min: 1, max: MAX_BYTES }));
  return {
    id: ranker
      .field('id')
      .string({ maxLength: 64, pattern: ID_PATTERN, patternText: 'lowercase letters, digits and single dashes' }),
    name: ranker.field('name').string({ maxLength: 80 }),
    url: readUrl(ranker.field('url')),
    dtype: ranker.field('dtype').oneOf(CLIP_DTYPES),
    ...(bytes === undefined ? {} : { bytes }),
    memoryBytes: ranker.field('memoryBytes').int({ min: 0, max: MAX_BYTES }),
    randomWeights: ranker.field('randomWeights').optional((f) => f.boolean()) ?? false,
    askBeforeDownload: ranker.field('askBeforeDownload').optional((f) => f.boolean()) ?? true,
  };
}

export function parseCatalog(json: unknown, source = 'catalog.json'): ModelCatalog {
  refuseNewerFormat(json, [CATALOG_FORMAT], source);
  const root = JsonField.root(json, { source, error: CatalogError, hint: HINT }).object();
  root.field('format').oneOf([CATALOG_FORMAT]);
  const items = root.field('models').items({ min: 1, max: 100 });
  const ids = new Set<string>();
  const models = items.map((item) => {
    const model = readModel(item);
    if (ids.has(model.id)) item.field('id').fail(`repeats the id "${model.id}"`);
    ids.add(model.id);
    return model;
  });
  const rankers = root.field('rankers').optional((field) =>
    field.items({ min: 0, max: 20 }).map((item) => {
      const ranker = readRanker(item);
      if (ids.has(ranker.id)) item.field('id').fail(`repeats the id "${ranker.id}"`);
      ids.add(ranker.id);
      return ranker;
    }),
  );
  return { models, rankers: rankers ?? [] };
}

/** The model folder's absolute URL (with a trailing slash). */
export function modelFolderUrl(model: Pick<CatalogModel, 'url'>, catalogUrl: string): string {
  return new URL(model.url, catalogUrl).href;
}

/** Origins of the models on other hosts: what the page's connect-src must allow. */
export function catalogHosts(catalog: ModelCatalog): string[] {
  return [...catalog.models, ...catalog.rankers]
    .filter((model) => /^https?:\/\//i.test(model.url))
    .map((model) => new URL(model.url).origin);
}

/** What the page knows about the device, for `unavailableReason`. */
export interface DeviceCapabilities {
  readonly webgpu: boolean;
  readonly shaderF16: boolean;
  /** `navigator.deviceMemory` in bytes (browsers cap it at 8 GiB), when the browser says. */
  readonly memoryBytes?: number;
}

/** Why `model` cannot run on this device, or null when it can. */
export function unavailableReason(model: CatalogModel, device: DeviceCapabilities): string | null {
  if (model.requires.webgpu && !device.webgpu) return 'needs WebGPU, which this browser does not offer';
  if (model.requires.shaderF16 && !device.shaderF16)
    return "needs a GPU with 16-bit float shaders (WebGPU's shader-f16)";
  // deviceMemory is capped at 8 GiB, so only a figure below the cap proves too little memory.
  const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(1)} GB`;
  if (
    device.memoryBytes !== undefined &&
    device.memoryBytes < 8 * 2 ** 30 &&
    device.memoryBytes < model.requires.memoryBytes
  ) {
    return `needs about ${gib(model.requires.memoryBytes)} of memory; this device reports ${gib(device.memoryBytes)}`;
  }
  return null;
}
