/**
 * Model-store test doubles: synthetic model folders (seeded bytes under a valid manifest), a fake
 * HTTP server with optional Range support and cut-off bodies, a backend with a quota, and a fake
 * navigator.storage.
 */
import type { ModelManifest } from '../../src/model/manifest.ts';
import { syntheticManifest } from './synthetic-model.ts';
import { memoryBackend } from '../../src/store/piece-store.ts';
import type { StoreBackend } from '../../src/store/piece-store.ts';
import type { Fetch } from '../../src/store/download.ts';
import type { StorageManagerLike } from '../../src/store/storage-quota.ts';

export const BASE_URL = 'https://models.test/model/';

/** Sizes chosen so that with 1 KiB pieces most files span several pieces and end in a short one. */
const FILE_SIZES: Readonly<Record<string, number>> = {
  'encoder.onnx': 700,
  'encoder.onnx_data': 3000,
  'decoder.onnx': 500,
  'decoder.onnx_data': 4100,
  'vqgan.onnx': 600,
  'vqgan.onnx_data': 5000,
  'vocab.json': 300,
  'merges.txt': 200,
};
/** What DALL·E Mini and Mega share: the VQGAN and the tokenizer. */
export const SHARED_PATHS = ['vqgan.onnx', 'vqgan.onnx_data', 'vocab.json', 'merges.txt'] as const;

export interface SyntheticModel {
  readonly manifest: ModelManifest;
  readonly files: ReadonlyMap<string, Uint8Array<ArrayBuffer>>;
}

function seededBytes(length: number, seed: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[i] = state & 0xff;
  }
  return bytes;
}

/** A model folder of seeded bytes; `shareWith` reuses another model's VQGAN and tokenizer files. */
export function syntheticModel(modelId: string, seed: number, shareWith?: SyntheticModel): SyntheticModel {
  const files = new Map<string, Uint8Array<ArrayBuffer>>();
  Object.entries(FILE_SIZES).forEach(([path, size], i) => {
    const shared = (SHARED_PATHS as readonly string[]).includes(path) ? shareWith?.files.get(path) : undefined;
    files.set(path, shared ?? seededBytes(size, seed * 100 + i + 1));
  });
  // The store cares about files, not graphs: the synthetic manifest of the source tests, under this id.
  const manifest: ModelManifest = { ...syntheticManifest(files), modelId, dtype: 'q8' };
  return { manifest, files };
}

export const totalBytes = (model: SyntheticModel, paths: readonly string[] = [...model.files.keys()]): number =>
  paths.reduce((sum, path) => sum + model.files.get(path)!.byteLength, 0);

export interface ServedRequest {
  readonly path: string;
  readonly range: string | null;
}

export interface FakeServerOptions {
  /** 'honour': 206 with Content-Range; 'ignore': 200 with the whole file; 'wrong': 206 from byte 0. */
  range?: 'honour' | 'ignore' | 'wrong';
  /** The next response for this path errors (a dropped connection) after this many body bytes; used once. */
  cutAfter?: Map<string, number>;
  /** Bytes served instead of the real file. */
  replace?: Map<string, Uint8Array<ArrayBuffer>>;
  /** Status codes served instead of the file. */
  status?: Map<string, number>;
  contentType?: string;
  /** Body chunk size: deliberately not a divisor of the piece size. */
  chunkBytes?: number;
}

/** Serves one model folder from memory and records every request. */
export class FakeModelServer {
  readonly requests: ServedRequest[] = [];

  constructor(
    private readonly model: SyntheticModel,
    readonly options: FakeServerOptions = {},
  ) {}

  readonly fetch: Fetch = (url, init) => {
    const path = url.slice(BASE_URL.length);
    const range = new Headers(init?.headers).get('Range');
    this.requests.push({ path, range });
    const status = this.options.status?.get(path);
    if (status !== undefined) return Promise.resolve(new Response('error', { status }));
    const file = this.options.replace?.get(path) ?? this.model.files.get(path);
    if (!file) return Promise.resolve(new Response('not found', { status: 404 }));
    const mode = this.options.range ?? 'honour';
    const start = range && mode !== 'ignore' ? (mode === 'wrong' ? 0 : Number(/^bytes=(\d+)-$/.exec(range)![1])) : 0;
    const body = file.subarray(start);
    const headers: Record<string, string> = {
      'Content-Type': this.options.contentType ?? 'application/octet-stream',
      'Content-Length': String(body.byteLength),
    };
    if (range && mode !== 'ignore')
      headers['Content-Range'] = `bytes ${start}-${file.byteLength - 1}/${file.byteLength}`;
    const cut = this.options.cutAfter?.get(path);
    this.options.cutAfter?.delete(path);
    return Promise.resolve(
      new Response(this.stream(body, cut, init?.signal ?? undefined), {
        status: range && mode !== 'ignore' ? 206 : 200,
        headers,
      }),
    );
  };

  private stream(
    body: Uint8Array,
    cutAfter: number | undefined,
    signal: AbortSignal | undefined,
  ): ReadableStream<Uint8Array> {
    const chunk = this.options.chunkBytes ?? 300;
    let sent = 0;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (signal?.aborted) return controller.error(signal.reason);
        if (cutAfter !== undefined && sent >= cutAfter)
          return controller.error(new TypeError('network connection lost'));
        if (sent >= body.byteLength) return controller.close();
        const end = Math.min(body.byteLength, sent + chunk, cutAfter ?? Infinity);
        controller.enqueue(body.slice(sent, end));
        sent = end;
      },
    });
  }

  fetchedPaths(): string[] {
    return this.requests.map((r) => r.path);
  }
}

/** A memory backend that refuses, as a full origin would, once its pieces would pass `limitBytes`. */
export function quotaBackend(limitBytes: number): StoreBackend & { limitBytes: number } {
  const inner = memoryBackend();
  let stored = 0;
  const sizes = new Map<string, number>();
  const backend = {
    kind: inner.kind,
    limitBytes,
    get: (key: string) => inner.get(key),
    keys: (prefix: string) => inner.keys(prefix),
    clear: async () => {
      sizes.clear();
      stored = 0;
      await inner.clear();
    },
    async delete(keys: readonly string[]) {
      for (const key of keys) stored -= sizes.get(key) ?? 0;
      for (const key of keys) sizes.delete(key);
      await inner.delete(keys);
    },
    async put(entries: Parameters<StoreBackend['put']>[0]) {
      let added = 0;
      for (const [key, value] of entries)
        if (value instanceof Uint8Array) added += value.byteLength - (sizes.get(key) ?? 0);
      if (stored + added > backend.limitBytes)
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      for (const [key, value] of entries) if (value instanceof Uint8Array) sizes.set(key, value.byteLength);
      stored += added;
      await inner.put(entries);
    },
  };
  return backend;
}

/** `estimates` are answered in turn, the last one from then on (storage fills up while a download runs). */
export function fakeStorageManager(
  ...estimates: { usage: number; quota: number }[]
): StorageManagerLike & { persistCalls: number } {
  let calls = 0;
  const manager = {
    persistCalls: 0,
    estimate: () => Promise.resolve({ ...estimates[Math.min(calls++, estimates.length - 1)]! }),
    persisted: () => Promise.resolve(false),
    persist: () => {
      manager.persistCalls++;
      return Promise.resolve(true);
    },
  };
  return manager;
}

/** A clock for progress speed: each call is 100 ms after the previous one. */
export function steppingClock(): () => number {
  let now = 0;
  return () => (now += 100);
}
