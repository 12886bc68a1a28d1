/**
 * Persistent storage for stored models: without it the browser may evict them under disk pressure
 * (least recently used sites first). Only the page can ask (`persist()` is missing in workers).
 *
 * Browsers answer differently. Chromium never shows a prompt: it grants by its own signals (an
 * installed app, a bookmark, much use of the site, notification permission) and otherwise resolves
 * false, silently. Firefox asks the visitor with a prompt. So the page asks when the visitor agreed to
 * a download (their own action), and once per browser after a model was stored without asking (the
 * demo); a visitor is never asked again for that.
 */
import { browserStorageManager, requestPersistence } from '../store/storage-quota.ts';
import type { StorageManagerLike } from '../store/storage-quota.ts';

/** Where the page remembers that it asked without a visitor's action. */
export const ASKED_KEY = 'dalle-mini-web.persistence-asked';

/** The bits of localStorage used here; it throws where storage is blocked (see src/store/storage-probe.ts). */
export interface FlagStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

function browserFlags(): FlagStorage | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined;
  }
}

/** Whether stored models are kept until deleted; undefined when the browser does not say. */
export async function isPersisted(storage = browserStorageManager()): Promise<boolean | undefined> {
  try {
    return storage?.persisted ? await storage.persisted() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Asks for persistent storage. `consent`: the visitor just agreed to a download, always ask.
 * `stored`: a model was stored without asking; ask only if this browser was never asked that way.
 */
export async function askPersistence(
  why: 'consent' | 'stored',
  storage: StorageManagerLike | undefined = browserStorageManager(),
  flags: FlagStorage | undefined = browserFlags(),
): Promise<boolean | undefined> {
  if (why === 'stored') {
    if ((await isPersisted(storage)) === true) return true;
    try {
      // Without a place to remember it, asking could repeat on every visit: then do not ask.
      if (!flags || flags.getItem(ASKED_KEY) !== null) return isPersisted(storage);
      flags.setItem(ASKED_KEY, new Date().toISOString());
    } catch {
      return isPersisted(storage);
    }
  }
  return requestPersistence(storage);
}
