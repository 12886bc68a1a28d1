/**
 * Outputs built beside their destination and renamed into place, so a reader only ever sees a
 * complete old or a complete new one. Names carry the writer's pid: `.<name>.partial-<pid>` while
 * building, `.<name>.old-<pid>` for the previous output during the swap. A process that dies
 * leaves them behind; the next writer in the same folder (or the cleanup guard) sweeps those
 * whose process is gone, and only those it can tell are its own: a staging folder holds a mark file, and a set-aside
 * output has a claim file beside it. A folder of the visitor's that merely has such a name is never touched.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const LEFTOVER = /^\.(.+)\.(partial|old)-([1-9][0-9]{0,9})$/;
/** Inside a staging folder: this project made it. Removed from the output once it is in place. */
export const STAGING_MARK = '.dalle-mini-web-staging';
/** Beside `.<name>.old-<pid>`: this project set that output aside (its own files are left as they were). */
const CLAIM = '.claim';
const LEFTOVER_CLAIM = /^\.(.+)\.old-([1-9][0-9]{0,9})\.claim$/;

/** Marks `dir` as a staging folder of this project's, so a sweep may delete it once its writer is gone. */
export function markStaging(dir: string): void {
  writeFileSync(join(dir, STAGING_MARK), `${process.pid}\n`);
}

export function stagingPath(target: string, pid = process.pid): string {
  return join(dirname(target), `.${basename(target)}.partial-${pid}`);
}

export function asidePath(target: string, pid = process.pid): string {
  return join(dirname(target), `.${basename(target)}.old-${pid}`);
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * When process `pid` started, in clock ticks since boot (field 22 of /proc/<pid>/stat), or '' where
 * that cannot be read (not Linux, or the process is gone). With the pid it names one process for good.
 */
export function processStartTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses; the fields after its last ')' do not.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? '';
  } catch {
    return '';
  }
}

/**
 * Removes what dead writers left in `dir`: staging folders, and previous outputs set aside (put
 * back where no new output arrived). `deadPids` are treated as gone even if the kernel still lists
 * them (the guard of an exiting process). Returns the names it acted on.
 */
export function sweepLeftovers(dir: string, deadPids: readonly number[] = []): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const swept: string[] = [];
  const gone = (pid: number): boolean => pid !== process.pid && (deadPids.includes(pid) || !isProcessAlive(pid));
  // Set-aside outputs first, so one whose new output never arrived is restored rather than lost.
  for (const name of names.sort((a, b) => Number(b.includes('.old-')) - Number(a.includes('.old-')))) {
    const match = LEFTOVER.exec(name);
    if (!match || !gone(Number(match[3]))) continue;
    const path = join(dir, name);
    const old = match[2] === 'old';
    try {
      if (!lstatSync(path).isDirectory()) continue;
      if (!exists(old ? `${path}${CLAIM}` : join(path, STAGING_MARK))) continue;
      const target = join(dir, match[1]!);
      if (old && !exists(target)) renameSync(path, target);
      else rmSync(path, { recursive: true, force: true });
      if (old) rmSync(`${path}${CLAIM}`, { force: true });
      swept.push(name);
    } catch (error) {
      // Another sweeper got there first.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  // A claim whose writer died before it set anything aside.
  for (const name of names) {
    const match = LEFTOVER_CLAIM.exec(name);
    const path = join(dir, name);
    if (match && gone(Number(match[2])) && !exists(path.slice(0, -CLAIM.length))) rmSync(path, { force: true });
  }
  return swept;
}

/** Sweeps `target`'s folder, then makes a fresh, empty staging folder for it and returns its path. */
export function createStaging(target: string): string {
  sweepLeftovers(dirname(target));
  const staging = stagingPath(target);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging);
  markStaging(staging);
  return staging;
}

/** Swaps `staging` in at `target`: old output aside, new one in, old deleted. A failed swap puts the old one back. */
export function replaceWithStaged(staging: string, target: string): void {
  const aside = asidePath(target);
  const claim = `${aside}${CLAIM}`;
  const hadOld = exists(target);
  if (hadOld) {
    writeFileSync(claim, `${process.pid}\n`);
    renameSync(target, aside);
  }
  try {
    renameSync(staging, target);
  } catch (error) {
    if (hadOld) renameSync(aside, target);
    rmSync(claim, { force: true });
    throw error;
  }
  rmSync(join(target, STAGING_MARK), { force: true });
  if (hadOld) rmSync(aside, { recursive: true, force: true });
  rmSync(claim, { force: true });
}
