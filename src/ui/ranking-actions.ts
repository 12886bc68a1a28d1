/**
 * The ranking side of the page: pick the catalog's CLIP ranker, ask before a large download (like
 * models), load it into the current worker after the model, and give draw() the rank parameters.
 * Ranking off means the ranker is never inspected, downloaded or loaded.
 */
import { describeError } from './error-text.ts';
import { untilAborted } from '../core/abort.ts';
import { modelFolderUrl, parseCatalog } from '../model/catalog.ts';
import type { CatalogModel, CatalogRanker } from '../model/catalog.ts';
import { GenerationCancelledError } from '../pipeline/errors.ts';
import { DownloadCancelledError, formatBytes } from '../store/errors.ts';
import type { DalleGenerator } from '../worker/client.ts';
import type { RankParams } from '../worker/protocol.ts';
import type { WorkerSlot } from './model-actions.ts';
import { t } from './i18n.ts';
import { loadProgressLabel } from './model-choice.ts';
import { clampCandidates, rankingEnabled, rankingOffReason, useRankingStore } from './ranking-store.ts';
import { setSettings, useAppStore } from './store.ts';

export interface RankingActions {
  /** Reads the catalog's rankers, picks the one for `model` and works out the device's default on/off. */
  configure(catalogUrl: string, model: CatalogModel | undefined): Promise<void>;
  /** Another model is being loaded: its ranker (the demo's or a real CLIP) replaces the last one's. */
  modelChosen(model: CatalogModel): void;
  /** The visitor's choice, kept in the settings. */
  setEnabled(enabled: boolean): Promise<void>;
  /** The model is loaded: check the ranker's storage and load it if it may load without asking. */
  modelReady(): Promise<void>;
  acceptDownload(): Promise<void>;
  /** Stops the ranker's download or load (what arrived is kept); a large ranker is offered again. */
  cancelDownload(): void;
  /**
   * draw()'s rank parameters: undefined with ranking off; loads the ranker first when needed. Aborting `signal`
   * (the drawing's Cancel) stops waiting with GenerationCancelledError; the ranker's load goes on, also one this
   * drawing started (the next ranked drawing needs it; the ranking panel's Stop stops it).
   */
  forDraw(count: number, signal?: AbortSignal): Promise<RankParams | undefined>;
}

/** In the page's language where the error is one a visitor meets (error-text.ts). */
const messageOf = describeError;

export function pickRanker(rankers: readonly CatalogRanker[], model: CatalogModel | undefined): CatalogRanker | null {
  // The bundled demo (random weights, or trained here on shapes, and loaded without asking) goes with the bundled
  // ranker (trained on the same shapes), so ranking it never asks for a download; a real model goes with a real
  // CLIP (downloaded on consent, real weights), when the site has both.
  const bundled = model === undefined || model.randomWeights || !model.askBeforeDownload;
  const fits = (ranker: CatalogRanker): boolean =>
    bundled ? !ranker.askBeforeDownload : ranker.askBeforeDownload && !ranker.randomWeights;
  return rankers.find(fits) ?? rankers[0] ?? null;
}

function deviceMemoryGib(): number | undefined {
  // Node (the unit tests) may have no navigator at all.
  if (typeof globalThis.navigator === 'undefined') return undefined;
  const nav: object = globalThis.navigator;
  return 'deviceMemory' in nav && typeof nav.deviceMemory === 'number' ? nav.deviceMemory : undefined;
}

export function createRankingActions(worker: WorkerSlot): RankingActions {
  const store = useRankingStore;
  let catalog = '';
  let rankers: readonly CatalogRanker[] = [];
  /** The model whose ranker is wanted: the last one picked. */
  let chosen: CatalogModel | undefined;
  /** The worker holding a ranker, and which: a replaced worker or another model's ranker needs a load. */
  let loaded: { readonly generator: DalleGenerator; readonly ranker: CatalogRanker } | null = null;
  let loading: Promise<void> | null = null;
  let stopLoading: AbortController | null = null;

  const folder = (ranker: CatalogRanker): string => modelFolderUrl(ranker, catalog);
  const isLoaded = (): boolean => loaded?.generator === worker.current() && loaded.ranker === store.getState().ranker;
  const enabled = (): boolean => rankingEnabled(useAppStore.getState().settings.rank, store.getState());

  function load(ranker: CatalogRanker): Promise<void> {
    const generator = worker.current();
    if (loaded?.generator === generator && loaded.ranker === ranker) return Promise.resolve();
    if (!generator.loadRanker) return Promise.reject(new Error('this page cannot rank'));
    const stop = new AbortController();
    stopLoading = stop;
    const started = generator
      .loadRanker(
        { modelUrl: folder(ranker) },
        (progress) => store.setState({ detail: loadProgressLabel(progress, ranker.name).label }),
        stop.signal,
      )
      .then(
        () => {
          loaded = { generator, ranker };
          store.setState({ status: 'ready', detail: null });
        },
        (error: unknown) => {
          if (stop.signal.aborted) {
            // Whatever stage the Stop cut short (download or compile), it reads as the visitor's stop.
            store.setState({ status: 'idle', detail: null });
            throw new DownloadCancelledError();
          }
          store.setState({
            status: 'failed',
            detail: t('ranking.loadFailed', { name: ranker.name, detail: messageOf(error) }),
          });
          throw error;
        },
      )
      .finally(() => {
        loading = null;
        if (stopLoading === stop) stopLoading = null;
        // Stopped by the visitor: a ranker that asks before downloading is offered again, with what is missing;
        // nothing loads again until the visitor asks (Download, or the next ranked Draw).
        if (stop.signal.aborted) void prepare({ load: false });
      });
    store.setState({ status: 'loading', detail: t('ranking.loading', { name: ranker.name }) });
    loading = started;
    return started;
  }

  /** Picks the ranker that goes with `model`; another ranker than before starts unloaded, asked about afresh. */
  function modelChosen(model: CatalogModel | undefined): void {
    chosen = model;
    const ranker = pickRanker(rankers, model);
    const offReason = rankingOffReason(deviceMemoryGib(), ranker);
    if (ranker === store.getState().ranker) return store.setState({ offReason });
    stopLoading?.abort();
    store.setState({ ranker, offReason, status: 'idle', detail: null });
  }

  async function check(): Promise<void> {
    // The ranker loads after the model (its backend decides CLIP's); load() success calls back here.
    if (useAppStore.getState().phase === 'ready') await prepare();
  }

  /** Asks before a download the visitor has not agreed to (status `consent`), else loads the ranker (`load`). */
  async function prepare({ load: loadNow = true }: { load?: boolean } = {}): Promise<void> {
    const { ranker } = store.getState();
    if (!enabled() || !ranker || isLoaded() || loading) return;
    try {
      const info = await worker.current().inspect(folder(ranker));
      if (ranker.askBeforeDownload && !info.complete) {
        store.setState({
          status: 'consent',
          missingBytes: info.missingBytes,
          detail: t('ranking.consent', { name: ranker.name, bytes: formatBytes(info.missingBytes) }),
        });
        return;
      }
      if (loadNow) await load(ranker);
    } catch (error) {
      if (error instanceof DownloadCancelledError) return; // the visitor's Stop: no failure to report
      store.setState({
        status: 'failed',
        detail: t('ranking.unavailable', { name: ranker.name, detail: messageOf(error) }),
      });
    }
  }

  return {
    async configure(catalogUrl, model) {
      catalog = catalogUrl;
      // A model picked while the catalog is read (modelChosen) is newer than `model`.
      chosen ??= model;
      try {
        const response = await fetch(catalogUrl);
        rankers = parseCatalog(await response.json(), catalogUrl).rankers;
      } catch {
        // The model side reports a broken catalog; without one there is nothing to rank with.
        rankers = [];
      }
      modelChosen(chosen);
    },

    modelChosen,

    async setEnabled(on) {
      setSettings({ rank: on });
      if (on) await check();
      else store.setState({ status: isLoaded() ? 'ready' : 'idle', detail: null });
    },

    modelReady: check,

    async acceptDownload() {
      const { ranker } = store.getState();
      if (ranker) await load(ranker).catch(() => undefined);
    },

    cancelDownload() {
      stopLoading?.abort();
    },

    async forDraw(count, signal) {
      const { ranker } = store.getState();
      if (!enabled() || !ranker) return undefined;
      // Turned on by a reset, the history or "draw again" rather than the checkbox: ask first, as the panel would.
      if (store.getState().status === 'idle') await prepare();
      if (store.getState().status === 'consent') throw new Error(t('ranking.notDownloaded', { name: ranker.name }));
      await untilAborted(loading ?? load(ranker), signal, () => new GenerationCancelledError());
      return { candidates: clampCandidates(useAppStore.getState().settings.candidates, count) };
    },
  };
}
