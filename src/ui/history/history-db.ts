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

async function works(db: HistoryDb): Promise<string | null> {
  const key = `probe:${Date.now()}:${Math.random()}`;
  try {
    await db.put(key, { probe: true });
    const read = await db.get(key);
    await db.delete([key]);
    return typeof read === 'object' && read !== null ? null : 'a value written to storage did not read back';
  } catch (error) {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }
}

/** IndexedDB when it works, else memory with the reason. */
export async function openHistoryDb(): Promise<{ readonly db: HistoryDb; readonly reason: string | null }> {
  if (!('indexedDB' in globalThis)) return { db: memoryHistory(), reason: 'this browser offers no IndexedDB here' };
  const db = indexedDbHistory();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer from storage within ${PROBE_TIMEOUT_MS} ms`), PROBE_TIMEOUT_MS);
  });
  try {
    const reason = await Promise.race([works(db), timeout]);
    return reason === null ? { db, reason: null } : { db: memoryHistory(), reason };
  } finally {
    clearTimeout(timer);
  }
}
