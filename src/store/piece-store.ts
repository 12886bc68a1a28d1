/**
 * The key–value storage under the model store: IndexedDB (through idb-keyval) when the browser
 * allows it, memory otherwise (storage-denied iframes, private windows) and in unit tests. Both
 * backends behave alike: values are copied in and out (IndexedDB's structured clone), and one
 * `put` call lands all its entries or none.
 */
import { clear, createStore, delMany, get, promisifyRequest, setMany } from 'idb-keyval';
import type { StoredRecord } from './records.ts';

export type StorageKind = 'indexeddb' | 'memory';
export type StoredValue = Uint8Array | StoredRecord;

export interface StoreBackend {
  readonly kind: StorageKind;
  /** The stored value, or undefined. Typed unknown: what is on disk may come from another version. */
  get(key: string): Promise<unknown>;
  /** Writes every entry or none (one transaction), so a piece and the record that counts it land together. */
  put(entries: readonly (readonly [string, StoredValue])[]): Promise<void>;
  delete(keys: readonly string[]): Promise<void>;
  /** Keys that start with `prefix`. */
  keys(prefix: string): Promise<string[]>;
  clear(): Promise<void>;
}

/**
 * The database name carries the layout version: idb-keyval opens databases without a version
 * number, so a new object store can only come with a new database.
 */
export const DEFAULT_DATABASE = 'dalle-mini-web-models-v1';
const OBJECT_STORE = 'entries';

/**
 * `factory` is the global `indexedDB` unless given: an embedded widget passes the unpartitioned
 * factory that `document.requestStorageAccess({ indexedDB: true })` returns (Chromium).
 */
export function indexedDbBackend(databaseName = DEFAULT_DATABASE, factory?: IDBFactory): StoreBackend {
  // Opens lazily, on the first call. The methods are async so that a synchronous throw (no
  // `indexedDB` global, SecurityError in a sandboxed frame) arrives as a rejection.
  const store = factory ? storeIn(factory, databaseName, OBJECT_STORE) : createStore(databaseName, OBJECT_STORE);
  return {
    kind: 'indexeddb',
    async get(key) {
      return get<unknown>(key, store);
    },
    async put(entries) {
      await setMany(
        entries.map(([key, value]) => [key, value]),
        store,
      );
    },
    async delete(keys) {
      await delMany([...keys], store);
    },
    async keys(prefix) {
      const range = IDBKeyRange.bound(prefix, `${prefix}\uffff`);
      const keys = await store('readonly', (objects) => promisifyRequest(objects.getAllKeys(range)));
      return keys.filter((key): key is string => typeof key === 'string' && key.startsWith(prefix));
    },
    async clear() {
      await clear(store);
    },
  };
}

type UseStore = ReturnType<typeof createStore>;

/** idb-keyval's `createStore`, on a given factory instead of the global `indexedDB`. */
function storeIn(factory: IDBFactory, databaseName: string, storeName: string): UseStore {
  let opened: Promise<IDBDatabase> | undefined;
  const open = (): Promise<IDBDatabase> => {
    if (opened) return opened;
    const request = factory.open(databaseName);
    request.onupgradeneeded = () => request.result.createObjectStore(storeName);
    const database = promisifyRequest(request);
    opened = database;
    database.then(
      (db) => (db.onclose = () => (opened = undefined)),
      () => (opened = undefined),
    );
    return database;
  };
  return (mode, callback) => open().then((db) => callback(db.transaction(storeName, mode).objectStore(storeName)));
}

export function memoryBackend(): StoreBackend {
  const entries = new Map<string, StoredValue>();
  return {
    kind: 'memory',
    get(key) {
      const value = entries.get(key);
      return Promise.resolve(value === undefined ? undefined : structuredClone(value));
    },
    put(batch) {
      // Clone everything first: a value that cannot be cloned must leave the store untouched.
      const copies = batch.map(([key, value]) => [key, structuredClone(value)] as const);
      for (const [key, value] of copies) entries.set(key, value);
      return Promise.resolve();
    },
    delete(keys) {
      for (const key of keys) entries.delete(key);
      return Promise.resolve();
    },
    keys(prefix) {
      return Promise.resolve([...entries.keys()].filter((key) => key.startsWith(prefix)));
    },
    clear() {
      entries.clear();
      return Promise.resolve();
    },
  };
}

/** Browsers name a full origin quota differently (Firefox once used its own name). */
export function isQuotaExceeded(error: unknown): boolean {
  const name = typeof error === 'object' && error !== null && 'name' in error ? error.name : undefined;
  return name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED';
}
