/**
 * A StoreBackend served over a MessagePort. Chromium hands an embedded (third-party) widget its
 * unpartitioned IndexedDB only as a handle on the page (`document.requestStorageAccess({ indexedDB:
 * true })`), not in the worker, so the page serves that backend and the worker's model store uses it
 * through the port. Calls cross as small typed messages; piece bytes are transferred, not copied
 * twice. Errors cross as name + message and come back as DOMExceptions of the same name, so a
 * QuotaExceededError is still recognised by `isQuotaExceeded` (and becomes StorageQuotaError).
 */
import type { StorageKind, StoreBackend, StoredValue } from './piece-store.ts';

/** The parts of MessagePort both ends use: the DOM's and node:worker_threads' ports both fit. */
export interface BackendPort {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  start?(): void;
}

type Entries = readonly (readonly [string, StoredValue])[];

export type BackendCall =
  | { readonly method: 'get'; readonly key: string }
  | { readonly method: 'put'; readonly entries: Entries }
  | { readonly method: 'delete'; readonly keys: readonly string[] }
  | { readonly method: 'keys'; readonly prefix: string }
  | { readonly method: 'clear' };

export interface BackendRequest {
  readonly id: number;
  readonly call: BackendCall;
}

export type BackendReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly name: string; readonly message: string };

function buffersOf(value: unknown): ArrayBuffer[] {
  return value instanceof Uint8Array && value.buffer instanceof ArrayBuffer ? [value.buffer] : [];
}

/** Answers BackendRequests arriving on `port` with `backend` (the page's end). */
export function serveBackend(port: BackendPort, backend: StoreBackend): void {
  const run = (call: BackendCall): Promise<unknown> => {
    switch (call.method) {
      case 'get':
        return backend.get(call.key);
      case 'put':
        return backend.put(call.entries);
      case 'delete':
        return backend.delete(call.keys);
      case 'keys':
        return backend.keys(call.prefix);
      case 'clear':
        return backend.clear();
    }
  };
  port.addEventListener('message', ({ data }) => {
    const { id, call } = data as BackendRequest;
    run(call).then(
      (value) => port.postMessage({ id, ok: true, value } satisfies BackendReply, buffersOf(value)),
      (error: unknown) => {
        const name = error instanceof Error || error instanceof DOMException ? error.name : 'Error';
        const message = error instanceof Error || error instanceof DOMException ? error.message : String(error);
        port.postMessage({ id, ok: false, name, message } satisfies BackendReply);
      },
    );
  });
  port.start?.();
}

/** The worker's end: a StoreBackend whose calls go over `port` to `serveBackend`. */
export function portBackend(port: BackendPort, kind: StorageKind = 'indexeddb'): StoreBackend {
  let nextId = 1;
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>();
  port.addEventListener('message', ({ data }) => {
    const reply = data as BackendReply;
    const waiting = pending.get(reply.id);
    if (!waiting) return;
    pending.delete(reply.id);
    if (reply.ok) waiting.resolve(reply.value);
    else waiting.reject(new DOMException(reply.message, reply.name));
  });
  port.start?.();
  const call = (request: BackendCall, transfer: ArrayBuffer[] = []): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      port.postMessage({ id, call: request } satisfies BackendRequest, transfer);
    });
  return {
    kind,
    get: (key) => call({ method: 'get', key }),
    async put(entries) {
      // Copies, so that transferring leaves the caller's arrays usable (the backend contract copies in).
      const copies = entries.map(([key, value]) => [key, structuredClone(value)] as const);
      await call(
        { method: 'put', entries: copies },
        copies.flatMap(([, value]) => buffersOf(value)),
      );
    },
    async delete(keys) {
      await call({ method: 'delete', keys });
    },
    async keys(prefix) {
      return (await call({ method: 'keys', prefix })) as string[];
    },
    async clear() {
      await call({ method: 'clear' });
    },
  };
}
