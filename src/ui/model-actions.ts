/**
 * The model side of the page: read the catalog, pick a model, ask before a large download, load,
 * and the storage panel's list and deletes. Switching models terminates the worker first: that is
 * the one sure way to give the old model's GPU memory back before the new one is created.
 */
import { CatalogError, modelFolderUrl, parseCatalog, unavailableReason } from '../model/catalog.ts';
import type { CatalogModel } from '../model/catalog.ts';
import { serverTrouble } from '../core/http-status.ts';
import { ModelFileUnavailableError } from '../model/integrity.ts';
import type { DalleGenerator } from '../worker/client.ts';
import { DeviceLostError, OutOfMemoryError, WorkerCrashedError } from '../worker/errors.ts';
import type { LoadParams } from '../worker/protocol.ts';
import { describeError } from './error-text.ts';
import { t } from './i18n.ts';
import { hostOf, modelWithoutDownload, probeDevice, spaceProblem } from './model-choice.ts';
import { askPersistence, isPersisted } from './persistence.ts';
import type { BackendChoice } from './settings.ts';
import { useRankingStore } from './ranking-store.ts';
import { setSettings, useAppStore } from './store.ts';

export interface StartOptions {
  /** Absolute URL of models/catalog.json. */
  readonly catalogUrl: string;
  readonly wasmPaths: string;
  /** `?model=` or a share link's model: a catalog id, preferred to the one in the settings. */
  readonly model?: string;
}

export interface ModelActions {
  start(options: StartOptions): Promise<void>;
  selectModel(id: string): Promise<void>;
  /** Loads the model again on another backend, in a fresh worker. */
  selectBackend(choice: BackendChoice): Promise<void>;
  acceptDownload(): Promise<void>;
  /** "Not now": back to a model that needs no download, when the site offers one. */
  declineDownload(): Promise<void>;
  cancelDownload(): void;
  /**
   * After a load that failed or that the visitor stopped: the selected model's download offered again (what arrived is
   * kept; 'Load' where nothing is missing), also for a model that loads without asking, so the page is never left
   * without a way on. The message shown stays with `keepError`, else only while something is left to download.
   */
  offerDownloadAgain(options: { keepError: boolean }): Promise<void>;
  /**
   * Whether loading the selected model again (in a fresh worker, after a lost GPU) would download files of a model
   * that asks first: deleted meanwhile, or kept in memory only, where a new worker starts empty.
   */
  reloadNeedsConsent(): Promise<boolean>;
  refreshStorage(): Promise<void>;
  /** Deletes one stored model (StoredModelInfo.id), or every one with null. */
  deleteStored(id: string | null): Promise<void>;
  /**
   * Starts a fresh worker, which probes storage again (after the Storage Access API granted it), and reloads the model:
   * once a drawing has ended; a load under way (into memory) starts again.
   */
  reopenStore(): Promise<void>;
}

/** The page's worker: the current one, and a way to replace it. */
export interface WorkerSlot {
  current(): DalleGenerator;
  /** Terminates the worker (freeing its memory) and starts a fresh one. */
  replace(): void;
}

export type Loader = (params: LoadParams, model: CatalogModel, signal: AbortSignal) => Promise<void>;

/** In the page's language, with what to do next (error-text.ts). */
const messageOf = describeError;

/** Failures after which the worker is replaced: its GPU device or the worker itself is gone. */
export function needsNewWorker(error: unknown): boolean {
  return error instanceof DeviceLostError || error instanceof WorkerCrashedError || error instanceof OutOfMemoryError;
}

/** A catalog entry whose folder has no manifest.json yet is a model the site owner has not published. */
function notAvailableMessage(model: CatalogModel, folder: string, error: unknown): string {
  const busy = error instanceof ModelFileUnavailableError && error.status !== undefined && serverTrouble(error.status);
  if (error instanceof ModelFileUnavailableError && error.file.endsWith('/manifest.json') && !busy) {
    return t('errors.notPublished', { model: model.name, folder });
  }
  return t('errors.notAvailable', { model: model.name, detail: messageOf(error) });
}

async function fetchCatalog(url: string): Promise<readonly CatalogModel[]> {
  const response = await fetch(url);
  if (!response.ok) {
    const key = serverTrouble(response.status) ? 'errors.catalogBusy' : 'errors.catalogMissing';
    throw new CatalogError(t(key, { url, status: response.status }));
  }
  let json: unknown;
  try {
    json = JSON.parse(await response.text());
  } catch {
    throw new CatalogError(t('errors.catalogNotJson', { url }));
  }
  return parseCatalog(json, url).models;
}

export function createModelActions(worker: WorkerSlot, load: Loader): ModelActions {
  const store = useAppStore;
  let options: StartOptions | null = null;
  /** The folder the current worker holds (or is loading): another one needs a fresh worker. */
  let workerModel: string | null = null;
  let downloading: AbortController | null = null;
  /** The download the visitor stopped (Stop), as against one a later pick or backend switch aborted. */
  let stopped: AbortController | null = null;
  /** The visitor agreed to a download and the browser is still answering the persistence question. */
  let accepting = false;
  /** Counts loads given up for another (a pick, a backend switch, a restart into storage): theirs is no failure. */
  let abandoned = 0;
  const abandonLoad = (): void => {
    abandoned += 1;
    downloading?.abort();
  };

  const modelById = (id: string): CatalogModel | undefined => store.getState().catalog.find((m) => m.id === id);
  const forcedBackend = () => {
    const { backend } = store.getState().settings;
    return backend === 'auto' ? undefined : backend;
  };

  /** Which catalog models this device (on the chosen backend) cannot run, and why. */
  async function checkDevice(catalog: readonly CatalogModel[]): Promise<void> {
    const device = await probeDevice(forcedBackend());
    const unavailable: Record<string, string> = {};
    for (const model of catalog) {
      const reason = unavailableReason(model, device);
      if (reason !== null) unavailable[model.id] = reason;
    }
    store.setState({ unavailable });
  }

  async function loadModel(model: CatalogModel): Promise<void> {
    const { catalogUrl, wasmPaths } = options!;
    const backend = forcedBackend();
    const controller = new AbortController();
    downloading = controller;
    const abandonedBefore = abandoned;
    store.setState({ offer: null });
    try {
      await load(
        { modelUrl: modelFolderUrl(model, catalogUrl), wasmPaths, ...(backend ? { backend } : {}) },
        model,
        controller.signal,
      );
    } finally {
      // A later pick may have started its own download already: only this one's state is cleared.
      if (downloading === controller) {
        downloading = null;
        store.setState({ download: null });
      }
      await actions.refreshStorage();
    }
    // A model stored without the visitor's say (the demo) asks once per browser (persistence.ts).
    if (!model.askBeforeDownload && store.getState().storageReport?.models.some((m) => m.complete)) {
      // Not awaited: Firefox asks with a prompt that may stay open while the visitor draws.
      void askPersistence('stored').then((persistent) => store.setState({ persistent: persistent ?? null }));
    }
    // Failed or stopped by the visitor: offer the download again (what arrived is kept), so that there is a way on
    // short of a reload. A Stop that came once the files were in (the sessions were being made) stopped nothing.
    const { selectedModel, phase } = store.getState();
    if (abandoned === abandonedBefore && selectedModel === model.id && phase === 'failed')
      await actions.offerDownloadAgain({ keepError: stopped !== controller });
  }

  /**
   * Picks model `id`: loads it if stored, if it loads without asking or if the visitor already agreed to its download
   * (`agreed`); else, or always with `offer` (after a Stop), offers the download.
   */
  async function pick(id: string, { offer, agreed = false }: { offer: boolean; agreed?: boolean }): Promise<void> {
    const model = modelById(id);
    if (!model || !options) return;
    abandonLoad();
    const folder = modelFolderUrl(model, options.catalogUrl);
    if (workerModel !== null && workerModel !== folder) worker.replace();
    workerModel = folder;
    setSettings({ model: id });
    // The grid is another model's drawing only when the model changes.
    const other = store.getState().selectedModel !== id;
    store.setState({
      selectedModel: id,
      phase: 'loading',
      offer: null,
      error: null,
      modelId: '',
      backend: null,
      ...(other ? { drawing: null, images: [], tokens: [] } : {}),
    });
    const reason = store.getState().unavailable[id];
    if (reason !== undefined) {
      store.setState({
        phase: 'failed',
        progress: null,
        error: t('errors.cannotRun', { model: model.name, reason }),
      });
      return;
    }
    store.setState({ progress: { label: t('status.checking', { model: model.name }), fraction: null } });
    const generator = worker.current();
    try {
      const info = await generator.inspect(folder);
      // Another model was picked meanwhile (its own worker, its own check): this answer is stale.
      if (worker.current() !== generator || store.getState().selectedModel !== id) return;
      store.setState({ storage: info.storage });
      // Offered after a Stop even when stored whole (nothing to download: the panel offers to load it).
      if (!offer && (info.complete || !model.askBeforeDownload)) return await loadModel(model);
      const estimate = await navigator.storage?.estimate?.().catch(() => undefined);
      const problem = spaceProblem(info.missingBytes, estimate);
      // An agreed download goes on unless it cannot fit: then the panel says so, with the storage panel below.
      if (!offer && agreed && problem === null) return await loadModel(model);
      const downloadOffer = {
        model,
        missingBytes: info.missingBytes,
        bytes: info.bytes,
        host: hostOf(folder, location.origin),
        spaceProblem: problem,
      };
      store.setState({ phase: 'consent', progress: null, offer: downloadOffer });
    } catch (error) {
      // A worker replaced by a later pick answers "stopped unexpectedly": not this model's problem.
      if (worker.current() !== generator || store.getState().selectedModel !== id) return;
      // The message says a new worker is started: 'Try again' then asks that one.
      if (needsNewWorker(error)) worker.replace();
      store.setState({
        phase: 'failed',
        progress: null,
        error: notAvailableMessage(model, folder, error),
      });
    }
  }

  const actions: ModelActions = {
    async start(startOptions) {
      options = startOptions;
      store.setState({
        phase: 'loading',
        error: null,
        progress: { label: t('status.readingCatalog'), fraction: null },
      });
      try {
        const catalog = await fetchCatalog(startOptions.catalogUrl);
        await checkDevice(catalog);
        store.setState({ catalog });
      } catch (error) {
        store.setState({
          phase: 'failed',
          progress: null,
          error: t('errors.catalogFailed', { detail: messageOf(error) }),
        });
        return;
      }
      void actions.refreshStorage();
      const { catalog, unavailable, settings } = store.getState();
      const asked = startOptions.model === undefined ? undefined : modelById(startOptions.model);
      const remembered = settings.model === null ? undefined : modelById(settings.model);
      const first = asked ?? remembered ?? catalog.find((m) => !(m.id in unavailable)) ?? catalog[0]!;
      await actions.selectModel(first.id);
      if (startOptions.model !== undefined && !asked) {
        store.setState({
          error: t('errors.unknownModel', { id: startOptions.model, model: first.name }),
        });
      }
    },

    selectModel: (id) => pick(id, { offer: false }),

    async reloadNeedsConsent() {
      const model = modelById(store.getState().selectedModel ?? '');
      if (!model?.askBeforeDownload || !options) return false;
      const info = await worker.current().inspect(modelFolderUrl(model, options.catalogUrl));
      return !info.complete;
    },

    async offerDownloadAgain({ keepError }) {
      const { selectedModel, error } = store.getState();
      if (selectedModel === null) return;
      await pick(selectedModel, { offer: true });
      // The offer says what is left to download; the message says why it is offered (a Stop's: none where nothing is
      // left).
      const { phase, offer } = store.getState();
      if (phase === 'consent' && offer && (keepError || offer.missingBytes > 0))
        store.setState({ error, offer: keepError ? { ...offer, afterFailure: true } : offer });
    },

    async selectBackend(choice) {
      const { settings, selectedModel, catalog } = store.getState();
      if (choice === settings.backend) return;
      setSettings({ backend: choice });
      if (!options || selectedModel === null) return;
      abandonLoad();
      // A fresh worker: the old backend's sessions (and GPU memory) go with the old one.
      worker.replace();
      workerModel = null;
      await checkDevice(catalog);
      await actions.selectModel(selectedModel);
    },

    async acceptDownload() {
      const offer = store.getState().offer;
      if (!offer || offer.spaceProblem !== null || accepting) return;
      // Only the page may ask for persistent storage (not the worker); browsers decide, some after asking. Firefox's
      // prompt leaves the Download button clickable: a second click must not start a second load.
      accepting = true;
      try {
        // Loading what is stored asks nothing of the browser.
        if (offer.missingBytes > 0) store.setState({ persistent: (await askPersistence('consent')) ?? null });
      } finally {
        accepting = false;
      }
      if (store.getState().offer !== offer) return;
      await loadModel(offer.model);
    },

    async declineDownload() {
      const { catalog, unavailable } = store.getState();
      const fallback = modelWithoutDownload(catalog, unavailable);
      if (fallback) await actions.selectModel(fallback.id);
    },

    cancelDownload() {
      stopped = downloading;
      downloading?.abort();
    },

    async refreshStorage() {
      try {
        const report = await worker.current().storage({ action: 'list' });
        store.setState({ storageReport: report, storage: report.storage, persistent: (await isPersisted()) ?? null });
      } catch (error) {
        // A stopped worker is replaced by the check or load that meets it too (they report it): not here, where it
        // would make their answer look stale and leave them silent.
        store.setState({ error: t('errors.listFailed', { detail: messageOf(error) }) });
      }
    },

    async deleteStored(id) {
      // Not while a model (also a restart's, after a lost GPU) or the CLIP ranker loads: it may be writing or reading
      // the files.
      const loading = downloading !== null || store.getState().phase === 'loading';
      if (loading || useRankingStore.getState().status === 'loading') return;
      try {
        const report = await worker
          .current()
          .storage(id === null ? { action: 'delete-all' } : { action: 'delete', model: id });
        store.setState({ storageReport: report, storage: report.storage });
      } catch (error) {
        store.setState({ error: t('errors.deleteFailed', { detail: messageOf(error) }) });
        return;
      }
      // The offer is worked out again: the space freed (it said to free some and try again), the files it counted.
      const { phase, offer } = store.getState();
      // Also when what is offered changed: a model deleted while its 'Load' (nothing to download) was offered.
      if (phase === 'consent' && offer) await pick(offer.model.id, { offer: true });
    },

    async reopenStore() {
      // A drawing ends first: replacing the worker would fail it.
      await new Promise<void>((resolve) => {
        if (store.getState().phase !== 'generating') return resolve();
        const stop = store.subscribe(({ phase }) => phase !== 'generating' && (stop(), resolve()));
      });
      // A load into memory is given up: the model now goes to the storage the visitor allowed, without asking again.
      const agreed = downloading !== null;
      abandonLoad();
      const { selectedModel } = store.getState();
      worker.replace();
      workerModel = null;
      if (selectedModel !== null) await pick(selectedModel, { offer: false, agreed });
      else await actions.refreshStorage();
    },
  };
  return actions;
}
