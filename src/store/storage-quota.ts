/**
 * `navigator.storage`: how much room the browser grants the site, and whether stored models
 * survive storage pressure. Injected everywhere so tests (and Node) can supply their own.
 */

/** The parts of StorageManager we use; every one may be missing (insecure context, workers, Node). */
export interface StorageManagerLike {
  estimate?(): Promise<StorageEstimate>;
  /** Window only: workers have `persisted()` but not `persist()` (Storage Standard). */
  persist?(): Promise<boolean>;
  persisted?(): Promise<boolean>;
}

/** The page's or worker's `navigator.storage`, when it has one (it needs a secure context). */
export function browserStorageManager(): StorageManagerLike | undefined {
  if (!('navigator' in globalThis)) return undefined;
  const nav: object = globalThis.navigator;
  if (!('storage' in nav) || typeof nav.storage !== 'object' || nav.storage === null) return undefined;
  return nav.storage;
}

export interface SpaceEstimate {
  readonly usage: number;
  readonly quota: number;
  /** quota − usage, never negative. */
  readonly free: number;
}

/** The browser's estimate, or undefined when it gives none. Estimates are approximate by design (Chrome pads them). */
export async function estimateSpace(storage: StorageManagerLike | undefined): Promise<SpaceEstimate | undefined> {
  if (!storage?.estimate) return undefined;
  try {
    const { usage, quota } = await storage.estimate();
    if (typeof usage !== 'number' || typeof quota !== 'number') return undefined;
    return { usage, quota, free: Math.max(0, quota - usage) };
  } catch {
    // An estimate is advice: without one the download goes ahead and a real quota error still stops it cleanly.
    return undefined;
  }
}

/**
 * Asks the browser to keep stored models under storage pressure (best-effort storage is evicted
 * least-recently-used first). Only a page can ask: in a worker this reports the current state.
 * Firefox shows a permission prompt, so call it from the page in answer to a user action.
 * Resolves to undefined when the browser has no answer.
 */
export async function requestPersistence(storage: StorageManagerLike | undefined): Promise<boolean | undefined> {
  try {
    if (storage?.persisted && (await storage.persisted())) return true;
    if (storage?.persist) return await storage.persist();
    return storage?.persisted ? await storage.persisted() : undefined;
  } catch {
    return undefined;
  }
}
