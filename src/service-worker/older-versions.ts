/**
 * An older version's files stay while a page of that version is open.
 *
 * After a deploy the new service worker waits; when the visitor presses "Reload to update" in one tab it takes over
 * every tab of the app. Workbox's own activation would then delete each precached file the new version does not list,
 * while the other tabs still run the older version and load its files later: a worker's script when the worker is
 * replaced, a part imported lazily, ONNX Runtime's files for the other backend. Offline, or once the host serves
 * only the new files, those loads would fail. So the new version deletes nothing when it takes over: it notes the pages
 * open then (each of an older version, or of one that ran beside it), serves their files from the precache, and
 * deletes what it does not list once none of those pages is open.
 */

/** What this module needs of `self.clients` (a service worker's `Clients`). */
export interface OpenPages {
  /** The ids of the windows (tabs, frames) open now under the service worker's scope, controlled or not. */
  list(): Promise<readonly string[]>;
  /** Whether the window with this id is still open. */
  isOpen(id: string): Promise<boolean>;
}

/** Where the ids of the older versions' pages are kept: a service worker may be stopped between any two events. */
export interface PageIdStore {
  /** The ids written last; undefined when none were (an activation whose write failed) or they cannot be read. */
  read(): Promise<readonly string[] | undefined>;
  write(ids: readonly string[]): Promise<void>;
}

/**
 * Keeps older versions' files while a page of theirs is open. Calls are queued: an activation and a navigation may
 * overlap, and each reads and writes the same list.
 */
export class OlderVersionFiles {
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly pages: OpenPages,
    private readonly store: PageIdStore,
    /** Deletes the precached files the running version does not list. */
    private readonly deleteUnlisted: () => Promise<void>,
  ) {}

  /**
   * On activation: every page open now ran an older version (or the version that installed this one's cache), and
   * each may still load files of its own. Adds them to those already waited for.
   */
  activated(): Promise<void> {
    return this.enqueue(() => this.waitForOpenPages());
  }

  /**
   * Deletes the older versions' files if none of their pages is open any more (when a page of the app opens). Cheap
   * when nothing is waited for: one read.
   */
  check(): Promise<void> {
    return this.enqueue(async () => {
      const ids = await this.store.read();
      // Not knowing which pages to wait for is no reason to delete: every page open now is waited for instead.
      if (ids === undefined) return this.waitForOpenPages();
      if (ids.length === 0) return;
      const open = await this.stillOpen(ids);
      if (open.length === 0) await this.deleteUnlisted();
      if (open.length < ids.length) await this.store.write(open);
    });
  }

  private async waitForOpenPages(): Promise<void> {
    const open = await this.stillOpen((await this.store.read()) ?? []);
    const added = (await this.pages.list()).filter((id) => !open.includes(id));
    const waited = [...open, ...added];
    if (waited.length === 0) await this.deleteUnlisted();
    await this.store.write(waited);
  }

  private async stillOpen(ids: readonly string[]): Promise<string[]> {
    const open = await Promise.all(ids.map((id) => this.pages.isOpen(id)));
    return ids.filter((_, i) => open[i]);
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.queue.then(work);
    // One failed step (a storage error) must not stop every later one.
    this.queue = next.catch(() => undefined);
    return next;
  }
}

/** What `cachedPageIds` needs of `self.caches`. */
export interface CacheStorageLike {
  open(name: string): Promise<{
    match(key: string): Promise<Response | undefined>;
    put(key: string, response: Response): Promise<void>;
  }>;
}

/** The ids as one JSON entry in a cache of its own (Cache Storage outlives the worker). */
export function cachedPageIds(caches: CacheStorageLike, cacheName: string, key: string): PageIdStore {
  return {
    async read() {
      try {
        const response = await (await caches.open(cacheName)).match(key);
        const ids: unknown = await response?.json();
        return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : undefined;
      } catch {
        return undefined;
      }
    },
    async write(ids) {
      // Not Response.json(): Safari 16 and Firefox 114, which the build still targets, lack it.
      const body = new Response(JSON.stringify(ids), { headers: { 'content-type': 'application/json' } });
      await (await caches.open(cacheName)).put(key, body);
    },
  };
}

/** Cache keys of `cached` the running version does not list. */
export function unlistedKeys(cached: readonly string[], listed: ReadonlySet<string>): string[] {
  return cached.filter((key) => !listed.has(key));
}
