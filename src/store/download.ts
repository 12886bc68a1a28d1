/**
 * Downloads a model into the store: checks the space first, then fetches every file the store
 * lacks (resuming interrupted ones), reporting per-file and total progress. Files already stored
 * (also by another model sharing them) are not fetched again.
 */
import type { StoredManifest } from '../model/stored-manifest.ts';
import { downloadFile } from './download-file.ts';
import { holdWhileLoading, withFileLock } from './file-lock.ts';
import { modelFileUrl, modelFolderUrl } from './model-http.ts';
import type { Fetch } from './download-file.ts';
import { StorageQuotaError } from './errors.ts';
import type { ModelStore } from './model-store.ts';
import { isQuotaExceeded } from './piece-store.ts';
import { ProgressTracker } from './progress.ts';
import type { DownloadProgress } from './progress.ts';
import { storedModelId, uniqueFiles } from './records.ts';
import { estimateSpace, requestPersistence } from './storage-quota.ts';

export type { Fetch } from './download-file.ts';

export interface DownloadOptions {
  readonly fetch?: Fetch;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: DownloadProgress) => void;
  /** Clock for speed and time left (milliseconds); tests pass their own. */
  readonly now?: () => number;
}

export interface DownloadResult {
  /** The id `listModels`, `manifest` and `deleteModel` know the model by. */
  readonly id: string;
  /** Size of the model (distinct files). */
  readonly bytes: number;
  /** Bytes fetched over the network by this call: 0 when everything was stored already. */
  readonly downloadedBytes: number;
  /** Whether the browser keeps the store under storage pressure; undefined when it does not say (memory mode, Node). */
  readonly persisted: boolean | undefined;
}

/** The browser refused a write: how much of the model is still to store, and how much space that lacks. */
async function quotaError(store: ModelStore, manifest: StoredManifest): Promise<StorageQuotaError> {
  const { missingBytes: needed } = await store.status(manifest);
  const space = await estimateSpace(store.storage);
  // The browser refused a write although its estimate may show room (estimates are approximate and
  // padded): the whole remainder is then the only figure that is sure to be enough.
  const short = space && needed > space.free ? needed - space.free : needed;
  return new StorageQuotaError(manifest.modelId, needed, short, 'during-download');
}

export async function downloadModel(
  store: ModelStore,
  baseUrl: string,
  manifest: StoredManifest,
  options: DownloadOptions = {},
): Promise<DownloadResult> {
  const files = uniqueFiles(manifest);
  const folder = modelFolderUrl(baseUrl);
  const urls = new Map(files.map((file) => [file.sha256, modelFileUrl(folder, file.path)]));
  const before = await store.status(manifest);
  if (before.missingBytes > 0) {
    const space = await estimateSpace(store.storage);
    if (space && before.missingBytes > space.free)
      throw new StorageQuotaError(
        manifest.modelId,
        before.missingBytes,
        before.missingBytes - space.free,
        'before-download',
      );
  }
  const persisted = await requestPersistence(store.storage);
  const progress = new ProgressTracker(
    before.bytes,
    options.onProgress ?? (() => undefined),
    options.now ?? (() => performance.now()),
  );
  const context = {
    files: store.files,
    // Called through a wrapper: some browsers throw "Illegal invocation" on an unbound global fetch.
    fetch: options.fetch ?? ((url: string, init?: RequestInit) => fetch(url, init)),
    signal: options.signal,
    progress,
  };
  const acrossTabs = store.kind === 'indexeddb';
  // Another tab's delete is refused meanwhile: it would take this model's record and files from under it.
  const release = await holdWhileLoading(acrossTabs);
  try {
    await store.saveModel(manifest, new URL('.', baseUrl).href);
    for (const file of files) {
      // Held while the file is checked and written: a file another tab is downloading is waited for, then stored.
      await withFileLock(file.sha256, acrossTabs, options.signal, async () => {
        if (await store.files.isComplete(file)) progress.fileStored(file.path, file.bytes);
        else await downloadFile(context, file, urls.get(file.sha256)!);
      });
    }
    await store.settleModel(manifest);
  } catch (error) {
    if (isQuotaExceeded(error)) throw await quotaError(store, manifest);
    throw error;
  } finally {
    release();
  }
  return { id: storedModelId(manifest), bytes: before.bytes, downloadedBytes: progress.networkBytes, persisted };
}
