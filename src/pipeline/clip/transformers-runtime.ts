/**
 * @huggingface/transformers on OUR ONNX Runtime and OUR files.
 *
 * Runtime: transformers.js uses whatever module is registered at
 * `globalThis[Symbol.for('onnxruntime')]` when it is first imported. We register the caller's
 * onnxruntime-web (1.30.0, which package.json's `overrides` also forces on transformers.js in place
 * of the 1.31 dev build it pins), so CLIP and DALL·E share one runtime, one WASM heap and one
 * WebGPU device. Importing transformers.js points ORT's wasmPaths at a CDN when none is set; the
 * value from before the import is put back.
 *
 * Files: remote models, the browser's Cache API copy, the file-system cache and the WASM cache are
 * all off. Every file it asks for is answered by `env.customCache` from a registered ModelSource,
 * i.e. our model store (IndexedDB, sha256-checked) in the browser or a verified folder in Node;
 * anything the manifest does not list gets a 404 from `env.fetch`, which never touches the network.
 */
import type * as Ort from 'onnxruntime-web';
import type { ClipManifest } from '../../model/clip-manifest.ts';
import type { ModelSource } from '../../model/model-source.ts';

export type Transformers = typeof import('@huggingface/transformers');

/** The runtime module transformers.js is given: onnxruntime-web's namespace (or a compatible one). */
export type ClipOrt = Pick<typeof Ort, 'InferenceSession' | 'Tensor' | 'env'>;

/** Where transformers.js thinks local models live; only our cache answers for it. */
const LOCAL_ROOT = '/dalle-mini-web-models/';

const sources = new Map<string, ModelSource<ClipManifest>>();
let nextKey = 0;
let imported: { ort: ClipOrt; module: Promise<Transformers> } | undefined;

/** The listed file behind a URL transformers.js asks about, or undefined. */
function resolveFile(url: string, remoteHost: string): { source: ModelSource<ClipManifest>; path: string } | undefined {
  for (const [key, source] of sources) {
    for (const prefix of [`${LOCAL_ROOT}${key}/`, `${remoteHost}${key}/resolve/main/`]) {
      if (!url.startsWith(prefix)) continue;
      const path = url.slice(prefix.length);
      if (source.manifest.files.some((file) => file.path === path)) return { source, path };
    }
  }
  return undefined;
}

async function importTransformers(ort: ClipOrt): Promise<Transformers> {
  const key = Symbol.for('onnxruntime');
  const global = globalThis as Record<symbol, unknown>;
  global[key] = ort;
  const wasmPaths = ort.env.wasm.wasmPaths;
  const proxy = ort.env.wasm.proxy;
  const module = await import('@huggingface/transformers');
  if (wasmPaths === undefined) delete ort.env.wasm.wasmPaths;
  else ort.env.wasm.wasmPaths = wasmPaths;
  if (proxy === undefined) delete ort.env.wasm.proxy;
  else ort.env.wasm.proxy = proxy;
  const { env } = module;
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = LOCAL_ROOT;
  env.useFS = false;
  env.useFSCache = false;
  env.useBrowserCache = false;
  // Also keeps transformers.js from replacing our `wasmPaths` (on WASM an object naming the WASM-only build's files,
  // src/pipeline/ort-build.ts) with blob URLs of its own copies.
  env.useWasmCache = false;
  env.useCustomCache = true;
  env.customCache = {
    async match(request: string | Request) {
      const url = typeof request === 'string' ? request : request.url;
      const found = resolveFile(url, env.remoteHost);
      if (!found) return undefined;
      const bytes = await found.source.readFile(found.path);
      return new Response(bytes.slice().buffer, { headers: { 'content-length': String(bytes.byteLength) } });
    },
    async put() {
      // Nothing is cached twice: the model store already holds every file.
    },
  };
  env.fetch = (() =>
    Promise.resolve(new Response(null, { status: 404, statusText: 'not in the model store' }))) as typeof fetch;
  return module;
}

/** transformers.js, imported once per realm on `ort`. A second, different runtime is refused. */
export function loadTransformers(ort: ClipOrt): Promise<Transformers> {
  if (imported && imported.ort !== ort)
    throw new Error('transformers.js is already bound to another ONNX Runtime instance in this realm');
  imported ??= { ort, module: importTransformers(ort) };
  return imported.module;
}

/**
 * Makes `source` readable by transformers.js under a fresh model name (for `from_pretrained`) until
 * `release` is called; sessions keep their weights, so release once the models are built.
 */
export function registerClipFiles(source: ModelSource<ClipManifest>): {
  readonly name: string;
  readonly release: () => void;
} {
  const name = `clip-${nextKey++}`;
  sources.set(name, source);
  return { name, release: () => void sources.delete(name) };
}
