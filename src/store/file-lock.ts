/**
 * One writer per stored file. Two tabs (or the page and a widget of the same site) downloading the same model
 * would otherwise both write the file's pieces and record: the later writer's "incomplete" record can land after
 * the other's "complete" one, and a model that was whole reads as missing. The Web Locks API holds the lock
 * across tabs and workers of the origin; where it is missing (Node, old browsers) a lock within this realm does.
 */
import { untilAborted } from '../core/abort.ts';
import { DownloadCancelledError, StoreBusyError } from './errors.ts';

/** A lock name: the site's other tabs use the same one for the same file. */
const lockName = (sha256: string): string => `dalle-mini-web:file:${sha256}`;

interface LockManagerLike {
  request<T>(
    name: string,
    options: { signal?: AbortSignal; mode?: 'shared' | 'exclusive'; ifAvailable?: boolean },
    work: (lock: unknown) => Promise<T>,
  ): Promise<T>;
}

function webLocks(): LockManagerLike | undefined {
  if (typeof navigator === 'undefined') return undefined;
  const locks: unknown = (navigator as { locks?: unknown }).locks;
  return locks && typeof (locks as LockManagerLike).request === 'function' ? (locks as LockManagerLike) : undefined;
}

/** Locks of this realm, for where there are no Web Locks: the tail of each name's queue. */
const localQueues = new Map<string, Promise<unknown>>();

async function withLocalLock<T>(name: string, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
  const before = localQueues.get(name) ?? Promise.resolve();
  let release = (): void => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const tail = before.then(() => held);
  localQueues.set(name, tail);
  try {
    await untilAborted(before, signal, () => new DownloadCancelledError());
    return await work();
  } finally {
    release();
    // Only once every writer queued before this one is done (a waiter that gave up still holds its place).
    void tail.then(() => {
      if (localQueues.get(name) === tail) localQueues.delete(name);
    });
  }
}

/**
 * Runs `work` while holding the file's lock, waiting for another tab's download of it first; `acrossTabs` false (a
 * store in memory, which no other tab sees) keeps the lock within this realm. Aborting `signal` while waiting ends
 * the wait with DownloadCancelledError.
 */
export async function withFileLock<T>(
  sha256: string,
  acrossTabs: boolean,
  signal: AbortSignal | undefined,
  work: () => Promise<T>,
): Promise<T> {
  const locks = acrossTabs ? webLocks() : undefined;
  if (!locks) return withLocalLock(lockName(sha256), signal, work);
  let started = false;
  try {
    return await locks.request(lockName(sha256), signal ? { signal } : {}, () => {
      started = true;
      return work();
    });
  } catch (error) {
    // A frame whose storage the browser blocks is refused the Locks API too (SecurityError): its store is its own.
    if (!started && error instanceof DOMException && error.name === 'SecurityError')
      return withLocalLock(lockName(sha256), signal, work);
    // The wait was aborted (an AbortError DOMException): the visitor stopped the download.
    if (!started && signal?.aborted) throw new DownloadCancelledError();
    throw error;
  }
}

/**
 * Held shared by every download and every load of the site's tabs, asked for alone by a delete. (The name predates
 * loads holding it too; kept so that a tab of an older version and one of this version still see each other.)
 */
const DOWNLOADS_LOCK = 'dalle-mini-web:downloads';

/**
 * Holds the site's downloads lock, shared, until the returned release is called: from a model's download until its
 * sessions hold the weights, so another tab's delete is refused (withNoDownloads) rather than taking the record and
 * files from under the download or the reads. Other tabs' downloads and loads go on meanwhile.
 */
export async function holdWhileLoading(acrossTabs: boolean): Promise<() => void> {
  const locks = acrossTabs ? webLocks() : undefined;
  if (!locks) return () => undefined;
  let release = (): void => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  let granted = (): void => undefined;
  const held = new Promise<void>((resolve) => (granted = resolve));
  const request = locks.request(DOWNLOADS_LOCK, { mode: 'shared' }, () => (granted(), released));
  try {
    await Promise.race([held, request]);
  } catch (error) {
    // A frame whose storage the browser blocks is refused the Locks API too (SecurityError): its store is its own.
    if (error instanceof DOMException && error.name === 'SecurityError') return () => undefined;
    throw error;
  }
  return release;
}

/**
 * Runs a delete unless a download or load runs in another tab (or worker) of the site, which it would take files from:
 * then StoreBusyError. Within one realm the page refuses deletes during its own loads itself.
 */
export async function withNoDownloads<T>(acrossTabs: boolean, work: () => Promise<T>): Promise<T> {
  const locks = acrossTabs ? webLocks() : undefined;
  if (!locks) return work();
  let started = false;
  try {
    return await locks.request(DOWNLOADS_LOCK, { mode: 'exclusive', ifAvailable: true }, (lock) => {
      started = true;
      if (lock === null) throw new StoreBusyError();
      return work();
    });
  } catch (error) {
    if (!started && error instanceof DOMException && error.name === 'SecurityError') return work();
    throw error;
  }
}
