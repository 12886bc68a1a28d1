/** Where a model's files come from: a folder on disk, HTTP, or the browser's model store. */
import type { ModelManifest } from './manifest.ts';

export interface ModelSource {
  readonly manifest: ModelManifest;
  /** The file's bytes, checked against its manifest entry (size and sha256) by the source. */
  readFile(path: string): Promise<Uint8Array>;
}
