/**
 * A model folder on disk as a `ModelSource`. Every file must lie inside the folder (paths and
 * symlinks resolved), be a regular file of the size the manifest declares before it is read, and
 * match its sha256 (the checks shared with the HTTP source, src/model/verified-source.ts).
 */
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { constants, open, realpath } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { checkDeclaredSize, ModelFileUnavailableError, overrunError } from '../../src/model/integrity.ts';
import { ManifestError, parseManifest } from '../../src/model/manifest.ts';
import type { ManifestFile } from '../../src/model/manifest.ts';
import { outsideModelError, verifiedModelSource } from '../../src/model/verified-source.ts';
import type { ListedFiles, ModelSource } from '../../src/model/model-source.ts';
import { parseClipManifest } from '../../src/model/clip-manifest.ts';
import type { ClipManifest } from '../../src/model/clip-manifest.ts';

/** A manifest is a few kilobytes; anything past this is not one. */
const MAX_MANIFEST_BYTES = 1 << 20;

/** Undefined on Windows, where opening a FIFO does not block anyway. */
const NONBLOCK = (constants as { O_NONBLOCK?: number }).O_NONBLOCK ?? 0;

function isInside(root: string, file: string): boolean {
  return file.startsWith(root + sep);
}

function hasCode(error: unknown, code: string): boolean {
  return error instanceof Error && 'code' in error && error.code === code;
}

function readManifestJson(manifestPath: string): unknown {
  try {
    const stat = statSync(manifestPath);
    if (!stat.isFile() || stat.size > MAX_MANIFEST_BYTES)
      throw new ManifestError(
        `${manifestPath} is not a model manifest (not a regular file of at most ${MAX_MANIFEST_BYTES} bytes). Export a model first (npm run export).`,
      );
    return JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch (error) {
    if (error instanceof ManifestError) throw error;
    // The error's name only: a JSON.parse message quotes the file's content.
    const why = hasCode(error, 'ENOENT')
      ? 'it does not exist'
      : `${(error as Error).name}${hasCode(error, 'EACCES') ? ' (permission denied)' : ''}`;
    throw new ManifestError(`cannot read ${manifestPath}: ${why}. Export a model first (npm run export).`);
  }
}

/**
 * Opens `file` only if it resolves (symlinks included) inside `root` to a regular file of the
 * declared size, and reads exactly that many bytes.
 */
async function readInside(root: string, file: string, entry: ManifestFile): Promise<Uint8Array<ArrayBuffer>> {
  let real: string;
  try {
    real = await realpath(file);
  } catch (error) {
    if (hasCode(error, 'ENOENT')) throw new ModelFileUnavailableError(file, 'there is no such file');
    throw error;
  }
  if (!isInside(root, real))
    throw new ModelFileUnavailableError(file, 'it is a link to a file outside the model folder, which is not read');
  // Non-blocking: opening a FIFO for reading would otherwise wait for a writer; fstat then refuses it.
  const handle = await open(real, constants.O_RDONLY | NONBLOCK);
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new ModelFileUnavailableError(file, 'it is not a regular file');
    checkDeclaredSize(entry, stat.size, file);
    const bytes = new Uint8Array(entry.bytes);
    let filled = 0;
    while (filled < bytes.length) {
      const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    checkDeclaredSize(entry, filled, file);
    // The file may have grown since stat: a byte past the declared end means it is not the file the manifest lists.
    if ((await handle.read(new Uint8Array(1), 0, 1, filled)).bytesRead > 0) throw overrunError(entry, file);
    return bytes;
  } finally {
    await handle.close();
  }
}

export function openModelFolder(dir: string): ModelSource {
  return openFolder(dir, parseManifest);
}

/** A CLIP ranking model's folder (hub layout plus our manifest.json), with the same checks. */
export function openClipFolder(dir: string): ModelSource<ClipManifest> {
  return openFolder(dir, parseClipManifest);
}

function openFolder<M extends ListedFiles>(dir: string, parse: (json: unknown, source: string) => M): ModelSource<M> {
  let root: string;
  try {
    root = realpathSync(dir);
  } catch {
    throw new ManifestError(
      `cannot open the model folder ${dir}: it does not exist. Export a model first (npm run export).`,
    );
  }
  const manifestPath = join(root, 'manifest.json');
  const manifest = parse(readManifestJson(manifestPath), manifestPath);
  return verifiedModelSource(manifest, manifestPath, {
    locate(path) {
      const file = resolve(root, path);
      if (!isInside(root, file)) throw outsideModelError(JSON.stringify(path.slice(0, 200)), root);
      return file;
    },
    read: (entry, file) => readInside(root, file, entry),
  });
}
