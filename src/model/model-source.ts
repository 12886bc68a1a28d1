/** Where a model's files come from: a folder on disk, HTTP, or the browser's model store. */
import type { ManifestFile, ModelManifest } from './manifest.ts';

/** What every manifest of ours has: the files, each with its size and sha256. */
export interface ListedFiles {
  readonly files: readonly ManifestFile[];
}

/** `M` is the manifest kind: a DALL·E model's by default, or a CLIP ranker's (clip-manifest.ts). */
export interface ModelSource<M extends ListedFiles = ModelManifest> {
  readonly manifest: M;
  /** The file's bytes, checked against its manifest entry (size and sha256) by the source. */
  readFile(path: string): Promise<Uint8Array>;
}
