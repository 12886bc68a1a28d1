/**
 * A lock that lets one process at a time build an output, so processes that need the same cached
 * fixture (the unit tests run two files at once) do not export it twice or swap it under a reader.
 *
 * Each contender writes its own claim, `.<name>.lock-<pid>`, beside the output, then lists the
 * claims: it holds the lock when every other claim belongs to a dead process, and otherwise takes
 * its claim back and waits. Of two contenders at least one sees the other's claim, so two never
 * hold at once; when both see each other both back off for a random while and try again. Claims of
 * dead processes (killed mid-build) are ignored and removed. A claim holds its writer's start time
 * where the system tells it (Linux's /proc), so a dead holder's pid taken by an unrelated process
 * does not keep the claim alive; elsewhere a waiter says after a while which claim it waits for.
 * Readers need no lock: a fixture built under the current fingerprint is never rebuilt in that run.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isProcessAlive, processStartTime } from './staging.ts';

const POLL_MS = 100;
/** A fixture build takes seconds to a minute; a wait this long is worth a line naming the holder. */
const SAY_AFTER_MS = 120_000;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms` (a fixture build is synchronous, so its wait is too). */
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** Whether the process that wrote a claim as `pid` with start time `started` ('' unknown) still runs. */
function isClaimantAlive(pid: number, started: string): boolean {
  if (!isProcessAlive(pid)) return false;
  if (started === '') return true;
  const now = processStartTime(pid);
  return now === '' || now === started;
}

/** The name of `pid`'s claim on `target`, beside it. */
const claimName = (target: string, pid: number | '') => `.${basename(target)}.lock-${pid}`;

/** The pids of the live processes other than this one that claim `target`; dead ones' claims are removed. */
function otherLiveClaims(target: string): number[] {
  const folder = dirname(target);
  const prefix = claimName(target, '');
  const others: number[] = [];
  for (const name of readdirSync(folder)) {
    if (!name.startsWith(prefix)) continue;
    const suffix = name.slice(prefix.length);
    if (!/^[1-9][0-9]{0,9}$/.test(suffix)) continue;
    const pid = Number(suffix);
    if (pid === process.pid) continue;
    const path = join(folder, name);
    let started: string;
    try {
      started = readFileSync(path, 'utf8').trim();
    } catch {
      continue; // taken back by its writer meanwhile
    }
    if (isClaimantAlive(pid, started)) others.push(pid);
    else rmSync(path, { force: true });
  }
  return others;
}

/**
 * Runs `fn` while holding the lock on `target` (a path whose folder exists), waiting for other holders first.
 * Not reentrant: a process must not take the same target's lock inside `fn`.
 */
export function withFolderLock<T>(target: string, fn: () => T): T {
  const claim = join(dirname(target), claimName(target, process.pid));
  const started = processStartTime(process.pid);
  const waitingSince = Date.now();
  let said = false;
  for (;;) {
    writeFileSync(claim, started);
    const others = otherLiveClaims(target);
    if (others.length === 0) break;
    rmSync(claim, { force: true });
    if (!said && Date.now() - waitingSince > SAY_AFTER_MS) {
      said = true;
      const claims = others.map((pid) => claimName(target, pid)).join(', ');
      console.warn(`waiting for process ${others.join(', ')} to build ${target} (claim ${claims} beside it)`);
    }
    sleepSync(POLL_MS / 2 + Math.random() * POLL_MS);
  }
  try {
    return fn();
  } finally {
    rmSync(claim, { force: true });
  }
}
