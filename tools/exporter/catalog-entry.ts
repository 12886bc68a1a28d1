/**
 * `npm run export -- --catalog <file>`: adds the exported model to a site's model catalog, or
 * updates its entry, so publishing a model is export + copy. The entry's size comes from the
 * manifest; its memory need is an estimate (weights as the runtime holds them, plus a margin for
 * one batch's activations and the KV cache).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, relative, sep } from 'node:path';
import { CATALOG_FORMAT, parseCatalog } from '../../src/model/catalog.ts';
import type { CatalogModel } from '../../src/model/catalog.ts';
import type { ModelManifest } from '../../src/model/manifest.ts';

/** WASM folds int8 weights to float32 at load (session-options.ts): four bytes for each stored one. */
const RUNTIME_BYTES_PER_STORED = { fp32: 1, fp16: 1, q8: 4, q4: 1 } as const;
const ACTIVATION_MARGIN = 1.25;

/**
 * Bytes the weights take once loaded, on the backend that holds the most (WASM): the stored bytes times
 * RUNTIME_BYTES_PER_STORED, except a q8 decoder with int8 activations (`wasmHostCacheFile`), whose weights stay
 * int8 on WASM but for its LM head (folded to float32: three bytes more per weight).
 */
export function loadedWeightBytes(manifest: ModelManifest): number {
  const all = manifest.files.reduce((sum, f) => sum + f.bytes, 0);
  const { decoder } = manifest.graphs;
  if (manifest.dtype !== 'q8' || decoder.wasmHostCacheFile === undefined)
    return all * RUNTIME_BYTES_PER_STORED[manifest.dtype];
  const decoderWeights = manifest.files
    .filter((f) => decoder.externalData.includes(f.path))
    .reduce((sum, f) => sum + f.bytes, 0);
  const c = manifest.dalleBart;
  const lmHead = c.dModel * (c.imageVocabSize + 1);
  return (all - decoderWeights) * 4 + decoderWeights + 3 * lmHead;
}

export interface CatalogEntryOptions {
  readonly catalogFile: string;
  readonly outDir: string;
  readonly manifest: ModelManifest;
  /** The folder's URL as the page should fetch it; by default the path from the catalog to --out. */
  readonly url?: string;
  /** Seeded random weights (`--random`): the page says so and pairs the model with a random ranker. */
  readonly randomWeights: boolean;
}

function catalogId(manifest: ModelManifest): string {
  return `${manifest.modelId}-${manifest.dtype}`
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/**
 * A new entry as a site owner would write it: no example prompts or suggested sampling (theirs to write; the page
 * offers none and keeps the app's defaults).
 */
function catalogEntryFor(manifest: ModelManifest, url: string, randomWeights: boolean): Record<string, unknown> {
  const bytes = manifest.files.reduce((sum, file) => sum + file.bytes, 0);
  const fp16 = manifest.dtype === 'fp16';
  return {
    id: catalogId(manifest),
    name: manifest.modelId,
    description: `${manifest.modelId}, exported in ${manifest.dtype}.`,
    url,
    dtype: manifest.dtype,
    bytes,
    requires: {
      webgpu: fp16,
      shaderF16: fp16,
      memoryBytes: Math.ceil(loadedWeightBytes(manifest) * ACTIVATION_MARGIN),
    },
    randomWeights,
    askBeforeDownload: true,
  };
}

/**
 * Adds or replaces (by id) the model's entry; other entries, their order and every field the site owner wrote (also
 * ones this app does not read) are kept as written. Written atomically.
 */
export function updateCatalog({
  catalogFile,
  outDir,
  manifest,
  url,
  randomWeights,
}: CatalogEntryOptions): CatalogModel {
  const raw: unknown = existsSync(catalogFile) ? JSON.parse(readFileSync(catalogFile, 'utf8')) : undefined;
  // Checked as the page reads it, then edited as written, not as parsed (parsing fills in defaults, drops extras).
  if (raw !== undefined) parseCatalog(raw, catalogFile);
  const written = (raw ?? {}) as { models?: Record<string, unknown>[] };
  const models = [...(written.models ?? [])];
  const folder = url ?? `${relative(dirname(catalogFile), outDir).split(sep).join('/')}/`;
  const entry = catalogEntryFor(manifest, folder, randomWeights);
  const at = models.findIndex((model) => model.id === entry.id);
  // A site owner's wording, requirements and consent choice survive a re-export; the facts (where, what type, how
  // big, random or trained) are renewed.
  const { url: entryUrl, dtype, bytes } = entry;
  if (at >= 0) models[at] = { ...models[at], url: entryUrl, dtype, bytes, randomWeights };
  else models.push(entry);
  const json = { ...written, format: CATALOG_FORMAT, models };
  const catalog = parseCatalog(json, catalogFile);
  const staging = `${catalogFile}.partial-${process.pid}`;
  writeFileSync(staging, `${JSON.stringify(json, null, 2)}\n`);
  renameSync(staging, catalogFile);
  return catalog.models.find((model) => model.id === entry.id)!;
}
