/**
 * Whether this page may store anything. Cross-site iframes with third-party storage blocked and
 * some private windows expose `indexedDB` yet fail on first use, so the probe really opens the
 * database, writes a key, reads it back and deletes it. When that fails the app runs from a
 * memory store with the same interface, and says so.
 */
import { ModelStore } from './model-store.ts';
import type { ModelStoreOptions } from './model-store.ts';
import { indexedDbBackend, memoryBackend } from './piece-store.ts';
import type { StoreBackend } from './piece-store.ts';

/**
 * Long enough for a cold IndexedDB open on a slow disk; short enough that a hung open (seen in
 * private modes) does not stall the app.
 */
export const PROBE_TIMEOUT_MS = 5000;

export type ProbeResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export type StorageChoice =
  | { readonly kind: 'indexeddb' }
  | {
      readonly kind: 'memory';
      /** What the browser answered, e.g. "UnknownError: The user denied permission". */
      readonly reason: string;
      /** A sentence for the user: what this means and what to do. */
      readonly notice: string;
    };

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export async function probeStorage(
  backend: StoreBackend = indexedDbBackend(),
  timeoutMs = PROBE_TIMEOUT_MS,
): Promise<ProbeResult> {
  const key = `probe:v1:${Date.now()}:${Math.random().toString(36).slice(2)}`;
  const written = Uint8Array.of(1, 2, 3);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<ProbeResult>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, reason: `no answer from storage within ${timeoutMs} ms` }),
      timeoutMs,
    );
  });
  const attempt = (async (): Promise<ProbeResult> => {
    try {
      await backend.put([[key, written]]);
      const read = await backend.get(key);
      await backend.delete([key]);
      const same =
        read instanceof Uint8Array && read.length === written.length && read.every((byte, i) => byte === written[i]);
      return same ? { ok: true } : { ok: false, reason: 'a value written to storage did not read back' };
    } catch (error) {
      return { ok: false, reason: describe(error) };
    }
  })();
  try {
    return await Promise.race([attempt, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface OpenModelStoreOptions extends ModelStoreOptions {
  /** The persistent backend to try; IndexedDB by default. */
  readonly openBackend?: () => StoreBackend;
  readonly timeoutMs?: number;
}

/** The persistent store when the probe passes, a memory store otherwise; `storage` says which and why. */
export async function openModelStore(
  options: OpenModelStoreOptions = {},
): Promise<{ readonly store: ModelStore; readonly storage: StorageChoice }> {
  const { openBackend, timeoutMs, ...storeOptions } = options;
  let reason: string;
  if (!openBackend && !('indexedDB' in globalThis)) {
    reason = 'this browser offers no IndexedDB here';
  } else {
    const backend = (openBackend ?? indexedDbBackend)();
    const probe = await probeStorage(backend, timeoutMs);
    if (probe.ok) return { store: new ModelStore(backend, storeOptions), storage: { kind: 'indexeddb' } };
    reason = probe.reason;
  }
  const notice = `This browser does not let the site store files (${reason}), so the model runs from memory and is downloaded again on every visit. Open the app in its own tab, outside a private window, to keep it.`;
  return {
    store: new ModelStore(memoryBackend(), { ...storeOptions, storage: undefined }),
    storage: { kind: 'memory', reason, notice },
  };
}
