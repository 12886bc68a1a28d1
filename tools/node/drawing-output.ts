/**
 * `npm run generate`'s --out holds one drawing: its images (`image-<n>.png`) and `tokens.json` or `scores.json`. A new
 * drawing replaces the one before as a whole, so no image or score file of an earlier, larger or ranked drawing is
 * left beside it to be taken for part of it. Only files generate itself wrote go: it records them (`.drawing.json`),
 * and a file of the same name it never wrote (someone's own image-5.png) stays; a folder without the record but with
 * a tokens.json or scores.json (written before generate kept one) loses the earlier drawing's files by their names, as
 * it did then. Each file is written aside and renamed into place once all are written, the JSON last, so a failed
 * write leaves the earlier drawing whole.
 */
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What the last drawing written here consists of. */
const RECORD = '.drawing.json';

/** What generate wrote before it kept a record: an earlier drawing's files in a folder without `.drawing.json`. */
const UNRECORDED_DRAWING_FILE = /^(?:image-(?:0|[1-9][0-9]*)\.png|tokens\.json|scores\.json)$/;

/** The files the drawing before wrote, from its record; in a folder an older generate wrote, by their names. */
function earlierFiles(dir: string): string[] {
  let text: string;
  try {
    text = readFileSync(join(dir, RECORD), 'utf8');
  } catch {
    // Only where a tokens.json or scores.json says an older generate drew here: else the folder is someone's own.
    const names = readdirSync(dir);
    const drawn = names.includes('tokens.json') || names.includes('scores.json');
    return drawn ? names.filter((name) => UNRECORDED_DRAWING_FILE.test(name)) : [];
  }
  try {
    const record = JSON.parse(text) as { files?: unknown };
    const files = Array.isArray(record.files) ? record.files : [];
    // Only plain names of this folder: a record edited by hand never reaches outside it.
    return files.filter((name): name is string => typeof name === 'string' && /^[\w.-]+$/.test(name));
  } catch {
    return [];
  }
}

/** Writes `files` (name → bytes or text) into `dir`, then removes the earlier drawing's files it did not rewrite. */
export function writeDrawing(dir: string, files: ReadonlyMap<string, Uint8Array | string>): string[] {
  const aside = (name: string): string => join(dir, `.${name}.partial-${process.pid}`);
  const names = [...files.keys()].sort((a, b) => Number(a.endsWith('.json')) - Number(b.endsWith('.json')));
  try {
    for (const name of names) writeFileSync(aside(name), files.get(name)!);
  } catch (error) {
    for (const name of names) rmSync(aside(name), { force: true });
    throw error;
  }
  const earlier = earlierFiles(dir);
  for (const name of names) renameSync(aside(name), join(dir, name));
  const stale = earlier.filter((name) => !files.has(name));
  for (const name of stale) rmSync(join(dir, name), { force: true });
  writeFileSync(join(dir, RECORD), `${JSON.stringify({ files: names })}\n`);
  return stale;
}
