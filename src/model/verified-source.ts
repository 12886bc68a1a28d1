/**
 * The one place a model file is checked against its manifest entry, for every source (a folder on
 * disk, HTTP): listed in the manifest, a plain relative path, located under the model's base, its
 * size refused before buffering (by the reader), then size and sha256 of the bytes.
 */
import type { ListedFiles, ModelSource } from './model-source.ts';
import { checkFileBytes } from './integrity.ts';
import { isModelPath, ManifestError } from './manifest.ts';
import type { ManifestFile } from './manifest.ts';

/** How one kind of source reaches its files. */
export interface ModelFileReader {
  /** Where `path` lives (an absolute file path or URL); throws if that is not under the model's base. */
  locate(path: string): string;
  /**
   * The bytes at `where`. Must refuse a size other than `entry.bytes` before buffering (stat,
   * Content-Length) and stop reading once more than `entry.bytes` arrive.
   */
  read(entry: ManifestFile, where: string): Promise<Uint8Array<ArrayBuffer>>;
}

/** Thrown by `locate` implementations: a path that would leave the model's folder or origin. */
export function outsideModelError(path: string, base: string): ManifestError {
  return new ManifestError(
    `${path} resolves outside the model at ${base}; model files must be plain relative paths inside it. Export the model again (npm run export).`,
  );
}

/** @param manifestName names the manifest in messages (its path or URL). */
export function verifiedModelSource<M extends ListedFiles>(
  manifest: M,
  manifestName: string,
  reader: ModelFileReader,
): ModelSource<M> {
  const entries = new Map(manifest.files.map((f) => [f.path, f]));
  return {
    manifest,
    async readFile(path: string): Promise<Uint8Array> {
      const entry = entries.get(path);
      if (!entry)
        throw new ManifestError(
          `${manifestName} does not list ${JSON.stringify(path.slice(0, 200))}, so it is not read. Export the model again (npm run export).`,
        );
      // parseManifest allows only such paths; a manifest built in code gets the same rule here.
      if (!isModelPath(path))
        throw new ManifestError(
          `${manifestName} lists ${JSON.stringify(path.slice(0, 200))}, which is not a plain relative path. Export the model again (npm run export).`,
        );
      const where = reader.locate(path);
      const bytes = await reader.read(entry, where);
      await checkFileBytes(entry, bytes, where);
      return bytes;
    },
  };
}
