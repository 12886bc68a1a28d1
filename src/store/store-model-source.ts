/**
 * The store as a `ModelSource`, so ONNX sessions and the tokenizer load from IndexedDB (or the
 * memory store). Each file is assembled once from its pieces: memory peaks at the weights already
 * handed to ONNX Runtime plus the file being read, never at two copies of the model.
 */
import { ManifestError } from '../model/manifest.ts';
import { asDalleManifest } from '../model/stored-manifest.ts';
import type { StoredManifest } from '../model/stored-manifest.ts';
import type { ModelSource } from '../model/model-source.ts';
import { FileNotStoredError } from './errors.ts';
import type { ModelStore } from './model-store.ts';

export function storeModelSource<M extends StoredManifest>(store: ModelStore, manifest: M): ModelSource<M> {
  const entries = new Map(manifest.files.map((file) => [file.path, file]));
  return {
    manifest,
    readFile(path: string): Promise<Uint8Array> {
      const entry = entries.get(path);
      if (!entry) return Promise.reject(new ManifestError(`manifest.json does not list ${path}`));
      return store.readFile(entry);
    },
  };
}

/** A stored model by id (`<modelId>/<dtype>`), for loading without the network. */
export async function storedModelSource(store: ModelStore, id: string): Promise<ModelSource> {
  const manifest = await store.manifest(id);
  if (!manifest) throw new FileNotStoredError(`manifest.json of ${id}`);
  return storeModelSource(store, asDalleManifest(manifest, `the stored manifest of ${id}`));
}
