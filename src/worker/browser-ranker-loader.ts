/**
 * Loads a CLIP ranker in the browser worker: its manifest (or the stored copy offline) → files into
 * the model store (downloaded and sha256-checked once, then read from IndexedDB) → transformers.js
 * sessions on the same onnxruntime-web instance and backend as the DALL·E model (set up by
 * browser-model-loader.ts, which always runs first).
 */
import * as ort from 'onnxruntime-web';
import { loadClipRanker } from '../pipeline/clip/clip-ranker.ts';
import type { RankerLoader } from './handler.ts';
import type { ModelLibrary } from './model-library.ts';

export function browserRankerLoader(library: ModelLibrary): RankerLoader {
  return async (params, backend, onProgress, signal) => {
    const manifest = await library.clipManifest(params.modelUrl);
    const opened = await library.open(params.modelUrl, manifest, {
      signal,
      onProgress: (p) => onProgress({ stage: 'download', ...p }),
    });
    let ranker;
    try {
      ranker = await loadClipRanker(ort, opened.source, backend);
    } finally {
      await opened.close({ loaded: ranker !== undefined });
    }
    return ranker;
  };
}
