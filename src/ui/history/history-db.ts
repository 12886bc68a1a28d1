/**
 * Where the history lives: its own IndexedDB database (idb-keyval), apart from the model store, or
 * memory where the browser refuses storage (a cross-site frame, some private windows). Like the
 * model store (src/store/storage-probe.ts), it writes, reads back and deletes a key before trusting
 * IndexedDB, because such browsers expose `indexedDB` and fail on first use.
 */
import { clear, createStore, delMany, entries, get, set } from 'idb-keyval';
import { PROBE_TIMEOUT_MS } from '../../store/storage-probe.ts';

export interface HistoryDb {
  readonly kind: 'indexeddb' | 'memory';
  /** Every stored value (unchecked: it may come from another version). */
  all(): Promise<unknown[]>;
  get(id: string): Promise<unknown>;
  put(id: string, record: object): Promise<void>;
  delete(ids: readonly string[]): Promise<void>;
  clear(): Promise<void>;
}

/** The database name carries the layout version (idb-keyval opens databases without one). */
export const HISTORY_DATABASE = 'dalle-mini-web-history-v1';

export function indexedDbHistory(databaseName = HISTORY_DATABASE): HistoryDb {
  const store = createStore(databaseName, 'drawings');
  return {
    kind: 'indexeddb',
    async all() {
      return (await entries(store)).map(([, value]) => value as unknown);
    },
    get: (id) => get<unknown>(id, store),
    put: (id, record) => set(id, record, store),
    delete: (ids) => delMany([...ids], store),
    clear: () => clear(store),
  };
}

export function memoryHistory(): HistoryDb {
  const records = new Map<string, object>();
  return {
    kind: 'memory',
    all: () => Promise.resolve([...records.values()]),
    get: (id) => Promise.resolve(records.get(id)),
    put: (id, record) => (records.set(id, record), Promise.resolve()),
    delete: (ids) => (ids.forEach((id) => records.delete(id)), Promise.resolve()),
    clear: () => (records.clear(), Promise.resolve()),
  };
}

/**
 * Why the history is kept in memory: the browser offers no IndexedDB here, its storage did not answer in time (a slow
 * disk), or it refused (its own words, or a value that did not read back). The page words each in its language.
 */
export type StorageProblem =
  | { readonly kind: 'unavailable' }
  | { readonly kind: 'timeout'; readonly seconds: number }
  | { readonly kind: 'refused'; readonly detail: string };

async function works(db: HistoryDb): Promise<StorageProblem | null> {
  const key = `probe:${Date.now()}:${Math.random()}`;
  try {
    await db.put(key, { probe: true });
    const read = await db.get(key);
    await db.delete([key]);
    return typeof read === 'object' && read !== null ? null : { kind: 'refused', detail: 'a value did not read back' };
  } catch (error) {
    return { kind: 'refused', detail: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}

/** IndexedDB when it works, else memory with the problem. */
export async function openHistoryDb(): Promise<{ readonly db: HistoryDb; readonly problem: StorageProblem | null }> {
  if (!('indexedDB' in globalThis)) return { db: memoryHistory(), problem: { kind: 'unavailable' } };
  const db = indexedDbHistory();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<StorageProblem>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'timeout', seconds: PROBE_TIMEOUT_MS / 1000 }), PROBE_TIMEOUT_MS);
  });
  try {
    const problem = await Promise.race([works(db), timeout]);
    return problem === null ? { db, problem: null } : { db: memoryHistory(), problem };
  } finally {
    clearTimeout(timer);
  }
}
