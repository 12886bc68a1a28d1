/**
 * `manifest.json`: what an exported model folder holds. The app, the Node CLI and the benchmarks
 * load models only through it; every file carries its size and sha256 so a corrupted or partial
 * download is caught before ONNX Runtime sees it.
 */
import type { DalleBartConfig, VqganConfig } from './config.ts';
import type { GraphName } from './graph-io.ts';

export const MANIFEST_FORMAT = 'dalle-mini-web/1';
export type ModelDtype = 'fp32' | 'fp16' | 'q8' | 'q4';
export type { GraphName };

export interface ManifestFile {
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface GraphEntry {
  readonly file: string;
  /** External-data files, in the order ONNX Runtime needs them mounted (their names are the paths the graph names). */
  readonly externalData: readonly string[];
  /** Float type of the activations crossing the graph boundary (caches, cross keys/values). */
  readonly compute: 'float32' | 'float16';
}

export interface SpecialTokens {
  readonly bos: number;
  readonly pad: number;
  readonly eos: number;
  readonly unk: number;
  /** The decoder start token (16384 for the released models, docs/model-format.md#start-token). */
  readonly imageStart: number;
  /** Sampling is restricted to ids 0 … imageCodes − 1 (the VQGAN codebook). */
  readonly imageCodes: number;
}

export interface ModelManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly modelId: string;
  readonly dtype: ModelDtype;
  readonly dalleBart: DalleBartConfig;
  readonly vqgan: VqganConfig;
  readonly specialTokens: SpecialTokens;
  readonly graphs: Readonly<Record<GraphName, GraphEntry>>;
  readonly tokenizer: { readonly vocab: string; readonly merges: string; readonly wordFrequencies?: string };
  readonly files: readonly ManifestFile[];
}

export class ManifestError extends Error {
  override name = 'ManifestError';
}

/** Checks the shape of a parsed manifest.json (it may come from any server). */
export function parseManifest(json: unknown, source = 'manifest.json'): ModelManifest {
  if (typeof json !== 'object' || json === null) throw new ManifestError(`${source} is not a JSON object`);
  const m = json as Partial<ModelManifest>;
  if (m.format !== MANIFEST_FORMAT) throw new ManifestError(`${source}: format is ${JSON.stringify(m.format)}, expected "${MANIFEST_FORMAT}"`);
  for (const key of ['modelId', 'dtype', 'dalleBart', 'vqgan', 'specialTokens', 'graphs', 'tokenizer', 'files'] as const) {
    if (m[key] === undefined) throw new ManifestError(`${source}: "${key}" is missing`);
  }
  const files = new Set(m.files!.map((f) => f.path));
  for (const [name, graph] of Object.entries(m.graphs!)) {
    for (const path of [graph.file, ...graph.externalData]) {
      if (!files.has(path)) throw new ManifestError(`${source}: graph ${name} needs ${path}, which is not in "files"`);
    }
  }
  return m as ModelManifest;
}
