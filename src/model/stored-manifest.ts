/**
 * Any manifest the model store keeps: a DALL·E model's (manifest.ts) or a CLIP ranker's
 * (clip-manifest.ts). The store, the downloader and the storage panel need only what both have
 * (id, dtype, files); loaders ask for the kind they run.
 */
import { CLIP_MANIFEST_FORMAT, parseClipManifest } from './clip-manifest.ts';
import type { ClipManifest } from './clip-manifest.ts';
import { ManifestError, MANIFEST_FORMAT, parseManifest } from './manifest.ts';
import type { ModelManifest } from './manifest.ts';
import { refuseNewerFormat } from './format-version.ts';

export type StoredManifest = ModelManifest | ClipManifest;

export function parseStoredManifest(json: unknown, source = 'manifest.json'): StoredManifest {
  refuseNewerFormat(json, [MANIFEST_FORMAT, CLIP_MANIFEST_FORMAT], source);
  const format = typeof json === 'object' && json !== null && 'format' in json ? json.format : undefined;
  return format === CLIP_MANIFEST_FORMAT ? parseClipManifest(json, source) : parseManifest(json, source);
}

/** The manifest as a DALL·E model's, or a clear error (a CLIP folder given as the model, say). */
export function asDalleManifest(manifest: StoredManifest, source: string): ModelManifest {
  if (manifest.format === MANIFEST_FORMAT) return manifest;
  throw new ManifestError(`${source} describes a CLIP ranking model (${manifest.modelId}), not a DALL·E model.`);
}

export function asClipManifest(manifest: StoredManifest, source: string): ClipManifest {
  if (manifest.format === CLIP_MANIFEST_FORMAT) return manifest;
  throw new ManifestError(`${source} describes a DALL·E model (${manifest.modelId}), not a CLIP ranking model.`);
}
