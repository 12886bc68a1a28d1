/**
 * The worker's models: manifests fetched from their folders (or the stored copy when the network is
 * gone), files downloaded into the model store, and the store's contents for the storage panel.
 * Free of `self` and ONNX Runtime, so Node tests run it on a memory store and a fake fetch.
 */
import type { ClipManifest } from '../model/clip-manifest.ts';
import type { ModelManifest } from '../model/manifest.ts';
import { asClipManifest, asDalleManifest } from '../model/stored-manifest.ts';
import type { StoredManifest } from '../model/stored-manifest.ts';
import type { ModelSource } from '../model/model-source.ts';
import { downloadModel } from '../store/download.ts';
import { holdWhileLoading } from '../store/file-lock.ts';
import { FileNotStoredError } from '../store/errors.ts';
import type { DownloadProgress } from '../store/progress.ts';
import type { ModelStore } from '../store/model-store.ts';
import type { StorageChoice } from '../store/storage-probe.ts';
import { storeModelSource } from '../store/store-model-source.ts';
import { wholeIfUnreachable, wholeVersionInstead } from './stored-version.ts';
import { storedModelId } from '../store/records.ts';
import { modelFolderUrl } from '../store/model-http.ts';
import { fetchManifest, httpModelSource } from './http-model-source.ts';
import type { HttpModelOptions } from './http-model-source.ts';
import type { Fetch } from './http-model-source.ts';
import type { ModelInfo, StorageAction, StorageInfo, StorageReport } from './protocol.ts';

export interface OpenedStore {
  readonly store: ModelStore;
  readonly storage: StorageChoice;
}

export interface ModelLibraryDeps {
  /** Called once, on first use: probing storage costs a round trip to IndexedDB. */
  readonly openStore: () => Promise<OpenedStore>;
  readonly fetch?: Fetch;
}

export interface OpenOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: DownloadProgress) => void;
  /**
   * A memory store hands each file over as it is read (takenOnRead): for loaders that read each file once, as the
   * DALL·E loader does. transformers.js (the CLIP ranker) reads some files twice, which would fetch them again.
   */
  readonly handOverFiles?: boolean;
}

export interface OpenedModel<M extends StoredManifest = ModelManifest> {
  readonly source: ModelSource<M>;
  /**
   * Call once the sessions hold the weights (`loaded`) or the load failed: ends the hold that refuses other tabs'
   * deletes of the files meanwhile (file-lock.ts), and a memory store that loaded drops its copy.
   */
  readonly close: (outcome: { loaded: boolean }) => Promise<void>;
}

export interface ModelLibrary {
  inspect(modelUrl: string): Promise<ModelInfo>;
  /** The folder's manifest.json, or the stored copy when it cannot be fetched. */
  manifest(modelUrl: string): Promise<ModelManifest>;
  /** The same for a CLIP ranking model's folder. */
  clipManifest(modelUrl: string): Promise<ClipManifest>;
  /** Downloads whatever the store lacks of `manifest` (resuming partial files), then reads the model from the store. */
  open<M extends StoredManifest>(modelUrl: string, manifest: M, options?: OpenOptions): Promise<OpenedModel<M>>;
  storage(action: StorageAction): Promise<StorageReport>;
}

function storageInfo(choice: StorageChoice): StorageInfo {
  return choice.kind === 'memory' ? { kind: 'memory', notice: choice.notice } : { kind: 'indexeddb' };
}

/**
 * A memory store's model, each file handed over as it is read: the sessions hold it from then on, so the model is
 * never in memory twice while it loads (the store's copy and the sessions'). A file read a second time (a graph that
 * falls back to another runtime) comes from the network again, checked as every download is.
 */
function takenOnRead<M extends StoredManifest>(
  models: ModelStore,
  stored: ModelSource<M>,
  folder: string,
  network: HttpModelOptions,
): ModelSource<M> {
  const again = httpModelSource(folder, stored.manifest, network);
  return {
    manifest: stored.manifest,
    async readFile(path) {
      const entry = stored.manifest.files.find((file) => file.path === path);
      let bytes: Uint8Array;
      try {
        bytes = await stored.readFile(path);
      } catch (error) {
        if (!(error instanceof FileNotStoredError)) throw error;
        return again.readFile(path);
      }
      if (entry) await models.files.discard(entry.sha256);
      return bytes;
    },
  };
}

export function createModelLibrary({ openStore, fetch }: ModelLibraryDeps): ModelLibrary {
  let opened: Promise<OpenedStore> | undefined;
  const store = (): Promise<OpenedStore> => (opened ??= openStore());
  /**
   * Folders whose last check found an unfinished update unreachable and reported the whole stored version: the load
   * that follows opens that version, not the update (which the page never offered), even if the network is back.
   */
  const wholeChosen = new Map<string, StoredManifest>();

  /** The folder's manifest; offline (or when the host stopped serving it), the copy stored with the model. */
  async function manifestOf(modelUrl: string): Promise<{ manifest: StoredManifest; from: ModelInfo['manifestFrom'] }> {
    const folder = modelFolderUrl(modelUrl).href;
    const chosen = wholeChosen.get(folder);
    if (chosen) return { manifest: chosen, from: 'store' };
    try {
      return { manifest: await fetchManifest(folder, fetch ? { fetch } : {}), from: 'network' };
    } catch (error) {
      const stored = await (await store()).store.manifestFrom(folder);
      if (stored) return { manifest: stored, from: 'store' };
      throw error;
    }
  }

  return {
    async inspect(modelUrl) {
      wholeChosen.delete(modelFolderUrl(modelUrl).href);
      const latest = await manifestOf(modelUrl);
      const { store: models, storage } = await store();
      let { manifest, from } = latest;
      let status = await models.status(manifest);
      if (!status.complete && from === 'network') {
        const folder = modelFolderUrl(modelUrl).href;
        // Calls the global fetch through a wrapper: some browsers throw "Illegal invocation" on an unbound one.
        const whole = await wholeIfUnreachable(
          models,
          folder,
          manifest,
          fetch ?? ((url, init) => globalThis.fetch(url, init)),
        );
        if (whole) {
          [manifest, from, status] = [whole, 'store', await models.status(whole)];
          wholeChosen.set(folder, whole);
        }
      }
      return {
        modelId: manifest.modelId,
        dtype: manifest.dtype,
        ...status,
        manifestFrom: from,
        storage: storageInfo(storage),
      };
    },

    async manifest(modelUrl) {
      return asDalleManifest((await manifestOf(modelUrl)).manifest, modelUrl);
    },

    async clipManifest(modelUrl) {
      return asClipManifest((await manifestOf(modelUrl)).manifest, modelUrl);
    },

    async open(modelUrl, manifest, options = {}) {
      const { store: models } = await store();
      const folder = modelFolderUrl(modelUrl).href;
      // Until the sessions hold the weights: another tab's delete would take the files from under the reads.
      const release = await holdWhileLoading(models.kind === 'indexeddb');
      let opened = manifest;
      try {
        const { signal, onProgress } = options;
        const download = {
          ...(signal ? { signal } : {}),
          ...(onProgress ? { onProgress } : {}),
          ...(fetch ? { fetch } : {}),
        };
        await downloadModel(models, folder, manifest, download);
      } catch (error) {
        let whole: typeof manifest | undefined;
        try {
          whole = await wholeVersionInstead(models, folder, manifest, error);
        } finally {
          if (!whole) release();
        }
        if (!whole) throw error;
        opened = whole;
      }
      const close = async ({ loaded }: { loaded: boolean }): Promise<void> => {
        release();
        // The sessions hold the model; in memory it dies with the worker anyway, but not a moment too late.
        if (loaded && models.kind === 'memory') await models.deleteModel(storedModelId(opened));
      };
      const stored = storeModelSource(models, opened);
      const network = { ...(options.signal ? { signal: options.signal } : {}), ...(fetch ? { fetch } : {}) };
      const handOver = models.kind === 'memory' && options.handOverFiles === true;
      return { source: handOver ? takenOnRead(models, stored, folder, network) : stored, close };
    },

    async storage(action) {
      const { store: models, storage } = await store();
      if (action.action === 'delete') await models.deleteModel(action.model);
      if (action.action === 'delete-all') await models.deleteAll();
      const [list, usage] = await Promise.all([models.listModels(), models.usage()]);
      return { storage: storageInfo(storage), models: list, usage };
    },
  };
}
