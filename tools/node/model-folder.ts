/** A model folder on disk as a `ModelSource`, every file checked against the manifest's size and sha256. */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IntegrityError } from '../../src/model/integrity.ts';
import { ManifestError, parseManifest } from '../../src/model/manifest.ts';
import type { ModelSource } from '../../src/pipeline/runtime.ts';

export function openModelFolder(dir: string): ModelSource {
  const manifestPath = join(dir, 'manifest.json');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch (error) {
    throw new ManifestError(`cannot read ${manifestPath}: ${(error as Error).message}. Export a model first (npm run export).`);
  }
  const manifest = parseManifest(json, manifestPath);
  const entries = new Map(manifest.files.map((f) => [f.path, f]));
  return {
    manifest,
    async readFile(path: string): Promise<Uint8Array> {
      const entry = entries.get(path);
      if (!entry) throw new ManifestError(`${manifestPath} does not list ${path}`);
      const bytes = await readFile(join(dir, path));
      if (bytes.length !== entry.bytes) throw new IntegrityError(join(dir, path), `${entry.bytes} bytes`, `${bytes.length} bytes`);
      const sha = createHash('sha256').update(bytes).digest('hex');
      if (sha !== entry.sha256) throw new IntegrityError(join(dir, path), `sha256 ${entry.sha256}`, `sha256 ${sha}`);
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
  };
}
