/** A model library over a model folder on disk served at a fake URL, with an in-memory or fake-IndexedDB store. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelStore } from '../../src/store/model-store.ts';
import { memoryBackend } from '../../src/store/piece-store.ts';
import type { StoreBackend } from '../../src/store/piece-store.ts';
import { createModelLibrary } from '../../src/worker/model-library.ts';
import type { ModelLibrary } from '../../src/worker/model-library.ts';

export interface FolderServer {
  /** Answers `base` + path with the folder's file, 404 otherwise; fails like a dropped network while `offline`. */
  readonly fetch: (url: string) => Promise<Response>;
  offline: boolean;
  readonly requests: string[];
}

export function serveFolder(dir: string, base: string): FolderServer {
  const server: FolderServer = {
    offline: false,
    requests: [],
    fetch: (url) => {
      server.requests.push(url);
      if (server.offline) return Promise.reject(new TypeError('Failed to fetch'));
      if (!url.startsWith(base)) return Promise.resolve(new Response('not found', { status: 404 }));
      try {
        return Promise.resolve(new Response(readFileSync(join(dir, url.slice(base.length)))));
      } catch {
        return Promise.resolve(new Response('not found', { status: 404 }));
      }
    },
  };
  return server;
}

/** A library on `backend` (memory by default), reporting IndexedDB unless the backend is a memory one. */
export function testLibrary(server: FolderServer, backend: StoreBackend = memoryBackend()): ModelLibrary {
  const store = new ModelStore(backend, { storage: undefined });
  const storage =
    backend.kind === 'memory'
      ? { kind: 'memory' as const, reason: 'test', notice: 'runs from memory (test)' }
      : { kind: 'indexeddb' as const };
  return createModelLibrary({ openStore: () => Promise.resolve({ store, storage }), fetch: server.fetch });
}
