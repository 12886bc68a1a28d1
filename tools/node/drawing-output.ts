/**
 * `npm run generate`'s --out holds one drawing: its images (`image-<n>.png`), `tokens.json` or `scores.json`. A new
 * drawing replaces the one before as a whole, so no image or score file of an earlier, larger or ranked drawing is
 * left beside it to be taken for part of it; files of other names are left alone.
 */
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const DRAWING_FILE = /^(?:image-(?:0|[1-9][0-9]*)\.png|tokens\.json|scores\.json)$/;

/** Writes `files` (name → bytes or text) into `dir`, then removes the earlier drawing's files it did not rewrite. */
export function writeDrawing(dir: string, files: ReadonlyMap<string, Uint8Array | string>): string[] {
  for (const [name, data] of files) writeFileSync(join(dir, name), data);
  const stale = readdirSync(dir).filter((name) => DRAWING_FILE.test(name) && !files.has(name));
  for (const name of stale) rmSync(join(dir, name), { force: true });
  return stale;
}
