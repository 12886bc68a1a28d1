/**
 * Output folders for the CLIs, checked and created before any work starts, so a bad --out fails
 * in a second rather than after the whole run. Folders are created one level at a time from the
 * nearest existing ancestor: Node's recursive mkdir spins forever at 100 % CPU under /proc, where
 * mkdir answers ENOENT for a folder whose parent exists.
 */
import { accessSync, constants, mkdirSync, statfsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ExpectedError } from '../../src/core/expected-error.ts';

export class OutputPathError extends ExpectedError {
  override name = 'OutputPathError';
}

/** Linux pseudo-filesystems (statfs f_type): they hold kernel state, never our files. */
const PSEUDO_FILESYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x1cd1, 'devpts'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0xcafe4a11, 'bpf'],
  [0x62656570, 'configfs'],
  [0x6165676c, 'pstore'],
  [0xde5e81e4, 'efivarfs'],
  [0x42494e4d, 'binfmt_misc'],
  [0x19800202, 'mqueue'],
]);

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'unknown error';
}

/** The nearest existing ancestor of `path` (or `path` itself) and the folder names missing below it. */
function nearestExisting(path: string, flag: string, shown: string): { existing: string; missing: string[] } {
  const missing: string[] = [];
  for (let current = path; ; current = dirname(current)) {
    try {
      statSync(current);
      return { existing: current, missing };
    } catch (error) {
      const code = errorCode(error);
      // ENOTDIR: a file further up; walking on finds it, and the check below names it.
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(current) === current)
        throw new OutputPathError(`${flag} ${shown}: cannot look at ${current} (${code}); choose another path`);
      missing.unshift(basename(current));
    }
  }
}

/** Throws unless `dir` is a folder on a real filesystem that this process may write to. */
function checkWritableFolder(dir: string, flag: string, path: string): void {
  if (!statSync(dir).isDirectory())
    throw new OutputPathError(`${flag} ${path}: ${dir} is a file, not a folder; choose a folder path`);
  if (process.platform === 'linux') {
    const pseudo = PSEUDO_FILESYSTEMS.get(statfsSync(dir).type);
    if (pseudo)
      throw new OutputPathError(
        `${flag} ${path} is on the ${pseudo} pseudo-filesystem, which cannot hold files; choose a folder on a disk`,
      );
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new OutputPathError(
      `${flag} ${path}: ${dir} is not writable; check its permissions or choose another folder`,
    );
  }
}

/** Makes `path` an existing, writable folder (creating what is missing) and returns it absolute. */
export function ensureOutputDir(path: string, flag = '--out'): string {
  return makeFolder(resolve(path), flag, resolve(path));
}

/** `shown` is the path the user gave, which messages name (it may lie below `target`). */
function makeFolder(target: string, flag: string, shown: string): string {
  const { existing, missing } = nearestExisting(target, flag, shown);
  checkWritableFolder(existing, flag, shown);
  let current = existing;
  for (const name of missing) {
    current = join(current, name);
    try {
      mkdirSync(current);
    } catch (error) {
      // Another process may have made it meanwhile; anything else stops here.
      if (errorCode(error) !== 'EEXIST' || !statSync(current).isDirectory()) {
        throw new OutputPathError(
          `${flag} ${shown}: cannot create ${current} (${errorCode(error)}); choose another path`,
        );
      }
    }
  }
  return target;
}

/**
 * For an output renamed into place when done (a model folder): its parent is made a writable
 * folder now, and the path itself must not be a file. Returns the path absolute.
 */
export function ensureOutputParent(path: string, flag = '--out'): string {
  const target = resolve(path);
  makeFolder(dirname(target), flag, target);
  try {
    if (!statSync(target).isDirectory())
      throw new OutputPathError(`${flag} ${target} is a file, not a folder; choose a folder path`);
  } catch (error) {
    if (error instanceof OutputPathError || errorCode(error) !== 'ENOENT') throw error;
  }
  return target;
}
