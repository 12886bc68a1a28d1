/**
 * What `export --out` may replace. The export swaps a whole folder in at --out, so the old
 * contents go: that is refused for a file, for a folder holding the working directory or the
 * checkpoint being read (or inside it), and, unless --force, for a non-empty folder that is not a
 * previous export.
 */
import { lstatSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { CLIP_MANIFEST_FORMAT } from '../../src/model/clip-manifest.ts';
import { MANIFEST_FORMAT } from '../../src/model/manifest.ts';
import { ensureOutputParent, OutputPathError } from '../node/output-dir.ts';

/** Resolves symlinks in the part of `path` that exists, so two spellings of one folder compare equal. */
function canonical(path: string): string {
  const absolute = resolve(path);
  try {
    return realpathSync(absolute);
  } catch {
    const parent = dirname(absolute);
    return parent === absolute ? absolute : join(canonical(parent), basename(absolute));
  }
}

/** True when `inner` is `outer` or lies somewhere below it. */
function isWithin(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (!isAbsolute(rel) && rel.split(sep)[0] !== '..');
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Files desktops leave in folders they show (macOS also `._<name>` beside files on other disks): no one's work. */
const DESKTOP_FILES = new Set(['.DS_Store', 'Thumbs.db', 'desktop.ini', '.directory']);
const isDesktopFile = (name: string): boolean => DESKTOP_FILES.has(name) || name.startsWith('._');

/** The folder's entries; undefined when there is no folder yet. */
function listing(dir: string): string[] | undefined {
  try {
    return readdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new OutputPathError(
      `--out ${dir} cannot be listed (${code}), so what replacing it would delete is unknown; check its permissions or choose another folder`,
    );
  }
}

/**
 * The names in `dir` that are its own: manifest.json and the files it lists, when the manifest says the folder is one
 * of our model exports; undefined when it is not one.
 */
function previousExportNames(dir: string): Set<string> | undefined {
  try {
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
      format?: unknown;
      files?: unknown;
    } | null;
    if (manifest === null || ![MANIFEST_FORMAT, CLIP_MANIFEST_FORMAT].includes(String(manifest.format)))
      return undefined;
    const files = Array.isArray(manifest.files) ? (manifest.files as { path?: unknown }[]) : [];
    return new Set(['manifest.json', ...files.map((file) => String(file.path).split('/')[0]!)]);
  } catch {
    return undefined;
  }
}

/**
 * Checks `out` before anything is read or written, creates its parent folder, and returns it
 * absolute. `inputs` are the folders the export reads: the checkpoints, and the cache when used.
 */
/**
 * The folder an export to `out` writes: `out`, or where it points when it is a link to a folder (on a bigger disk,
 * say): swapping a staged folder in at the link's own path would replace the link with a plain folder and leave the
 * linked one stale. Staging folders go beside it. (URLs, such as the catalog's, are made from `out` as named.)
 */
export function exportLocation(out: string): string {
  const named = resolve(out);
  return isLink(named) ? canonical(named) : named;
}

export function checkExportTarget(out: string, inputs: readonly string[], force: boolean): string {
  const named = ensureOutputParent(out);
  const real = canonical(named);
  const target = exportLocation(named);
  const cwd = canonical(process.cwd());
  if (isWithin(cwd, real)) {
    throw new OutputPathError(
      `--out ${target} holds the working directory ${cwd}, which replacing it would delete; choose a new folder for the model (--force does not override this)`,
    );
  }
  for (const input of inputs) {
    const folder = canonical(input);
    if (isWithin(folder, real) || isWithin(real, folder)) {
      const how = isWithin(folder, real) ? 'holds' : 'lies inside';
      throw new OutputPathError(
        `--out ${target} ${how} the input folder ${resolve(input)}; choose a folder apart from the checkpoints and the cache (--force does not override this)`,
      );
    }
  }
  const entries = listing(target)?.filter((entry) => !isDesktopFile(entry));
  if (entries === undefined || entries.length === 0 || force) return target;
  const own = previousExportNames(target);
  if (own === undefined) {
    throw new OutputPathError(
      `--out ${target} is a non-empty folder that is not a model export (it has no manifest.json of ours), and exporting replaces the whole folder; choose an empty or new folder, or pass --force to replace it`,
    );
  }
  // Someone's notes or images kept beside an earlier export would go with it (not the desktop's own index files).
  const others = entries.filter((entry) => !own.has(entry));
  if (others.length > 0) {
    const named = others.slice(0, 3).join(', ') + (others.length > 3 ? `, … (${others.length} in all)` : '');
    throw new OutputPathError(
      `--out ${target} is an earlier export that also holds what its manifest does not list (${named}), which replacing the folder would delete; move those out, or pass --force to replace it all`,
    );
  }
  return target;
}
