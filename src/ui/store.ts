/**
 * The app's state in one zustand store. Components select primitives or stable references; the
 * controller (actions outside React) is the only writer besides the settings inputs. Only the
 * settings persist (localStorage, versioned, read back through readSettings so a corrupt or older
 * stored value falls back to the defaults field by field).
 */
import { create } from 'zustand';
import { createJSONStorage, persist } from 'zustand/middleware';
import type { CatalogModel } from '../model/catalog.ts';
import type { SamplingSettings } from '../pipeline/sampler.ts';
import type { DownloadProgress } from '../store/progress.ts';
import type { BackendName, StorageInfo, StorageReport } from '../worker/protocol.ts';
import { forgetOldDefaults } from './sampling-choice.ts';
import { DEFAULT_SETTINGS, readSettings } from './settings.ts';
import { settingsStorage } from './settings-storage.ts';
import type { DrawSettings } from './settings.ts';
import type { HistoryRecord } from './history/records.ts';
import type { StorageProblem } from './history/history-db.ts';

export type { DrawSettings } from './settings.ts';

/** `consent`: a model must be downloaded and the visitor has not agreed yet. */
export type Phase = 'loading' | 'consent' | 'ready' | 'generating' | 'failed';

/** What the consent panel asks about. */
export interface DownloadOffer {
  readonly model: CatalogModel;
  /** Bytes still to download (a partial earlier download counts as stored). */
  readonly missingBytes: number;
  readonly bytes: number;
  /** Where the files come from, as the visitor should read it (a host name, or "this site"). */
  readonly host: string;
  /** Set when the browser's storage estimate says the model will not fit: the download is not offered then. */
  readonly spaceProblem: string | null;
  /** Offered again because the load failed (the page's `error` says why), not asked before a first download. */
  readonly afterFailure?: boolean;
}

/** Per-file download progress by path (the totals are in `progress`). */
export interface DownloadView {
  readonly files: Readonly<Record<string, DownloadProgress['file']>>;
}

export interface Progress {
  readonly label: string;
  /** 0 … 1; null while the amount of work is unknown. */
  readonly fraction: number | null;
}

/** What a grid's images were drawn from: enough to draw them again (share links, history). */
export interface Drawing {
  readonly prompt: string;
  readonly seed: number;
  readonly count: number;
  readonly sampling: SamplingSettings;
  /** The catalog id of the model, when the catalog had one. */
  readonly model: string | null;
  /** The model's own id (manifest.json). */
  readonly modelId: string;
  /** Ranked drawings only: the candidates CLIP ranked, of which the best `count` are shown. */
  readonly candidates?: number;
}

export interface AppState {
  readonly phase: Phase;
  readonly backend: BackendName | null;
  readonly backendReason: string;
  /** The loaded model's id (manifest.json), empty until loaded. */
  readonly modelId: string;
  readonly progress: Progress | null;
  readonly error: string | null;
  /** A passing confirmation ("Link copied"), cleared by the next action. */
  readonly notice: string | null;
  /**
   * A new version of the app is installed and waits (src/pwa.ts): calling this activates it and reloads the page.
   * Null while there is none, and always in the embed widget, which registers no service worker.
   */
  readonly applyUpdate: (() => void) | null;
  /**
   * Another tab's update took over this page (src/pwa.ts). The new version's service worker keeps this version's
   * files for it (src/service-worker/older-versions.ts); should one be gone all the same (site data cleared), a worker
   * that never starts or a failed import says to reload.
   */
  readonly versionReplaced: boolean;
  /**
   * The browser refused to store the settings, its storage for the site full or blocked: they last for this visit
   * (SettingsPanel says so).
   */
  readonly settingsUnsaved: 'full' | 'refused' | null;
  /** The index of the image open in the large viewer, or null. */
  readonly viewer: number | null;
  readonly prompt: string;
  readonly settings: DrawSettings;
  /** What the images in the grid are drawn from; null before the first Draw. */
  readonly drawing: Drawing | null;
  /** RGBA buffers of the last finished drawing, imageSize × imageSize each. */
  readonly images: readonly Uint8ClampedArray[];
  /** The image codes behind `images` once a drawing finished (what `npm run generate` writes as tokens.json). */
  readonly tokens: readonly (readonly number[])[];
  readonly imageSize: number;
  /** Models the site offers (models/catalog.json), the first being the default. */
  readonly catalog: readonly CatalogModel[];
  /** The catalog id of the model picked (loaded, loading or waiting for consent). */
  readonly selectedModel: string | null;
  /** Catalog ids this device cannot run, with the reason. */
  readonly unavailable: Readonly<Record<string, string>>;
  readonly offer: DownloadOffer | null;
  readonly download: DownloadView | null;
  /** IndexedDB or memory, once the worker has opened its model store. */
  readonly storage: StorageInfo | null;
  readonly storageReport: StorageReport | null;
  /** Whether the browser keeps stored models until they are deleted; null while it has not said. */
  readonly persistent: boolean | null;
  /** Past drawings, newest first. */
  readonly history: readonly HistoryRecord[];
  /** Where the history is kept: IndexedDB, or memory (with the reason); null until opened. */
  readonly historyStorage:
    { readonly kind: 'indexeddb' } | { readonly kind: 'memory'; readonly problem: StorageProblem } | null;
  /** Stored drawings this version cannot read (a newer version's, or damaged): not listed, only counted. */
  readonly historyUnreadable: number;
}

export const INITIAL_STATE: AppState = {
  phase: 'loading',
  backend: null,
  backendReason: '',
  modelId: '',
  progress: null,
  error: null,
  notice: null,
  applyUpdate: null,
  versionReplaced: false,
  settingsUnsaved: null,
  viewer: null,
  prompt: '',
  settings: DEFAULT_SETTINGS,
  drawing: null,
  images: [],
  tokens: [],
  imageSize: 256,
  catalog: [],
  selectedModel: null,
  unavailable: {},
  offer: null,
  download: null,
  storage: null,
  storageReport: null,
  persistent: null,
  history: [],
  historyStorage: null,
  historyUnreadable: 0,
};

/**
 * The key in localStorage, and the stored format's version (raise it when a setting changes meaning). 2: a sampling
 * setting may be null, following the model's suggestion.
 */
export const SETTINGS_STORAGE_KEY = 'dalle-mini:settings';
export const SETTINGS_VERSION = 2;

/** Stored settings of an older version as this version reads them (then field by field, through readSettings). */
export function migrateStoredSettings(stored: unknown, version: number): unknown {
  if (version >= 2 || typeof stored !== 'object' || stored === null || !('settings' in stored)) return stored;
  return { ...stored, settings: forgetOldDefaults(stored.settings) };
}

export const useAppStore = create<AppState>()(
  persist(() => INITIAL_STATE, {
    name: SETTINGS_STORAGE_KEY,
    version: SETTINGS_VERSION,
    storage: createJSONStorage(() =>
      settingsStorage(
        () => globalThis.localStorage,
        // Not from inside the store's own setState, whose write this is.
        (error) =>
          queueMicrotask(() =>
            useAppStore.setState({
              settingsUnsaved:
                error instanceof DOMException && error.name === 'QuotaExceededError' ? 'full' : 'refused',
            }),
          ),
      ),
    ),
    partialize: (state) => ({ settings: state.settings }),
    // Older versions' settings are read like current ones, whatever still fits kept; version 1's sampling values
    // equal to dalle-mini's defaults follow the model from now on (sampling-choice.ts forgetOldDefaults).
    migrate: migrateStoredSettings,
    merge: (stored, current) => ({
      ...current,
      settings: readSettings(
        typeof stored === 'object' && stored !== null && 'settings' in stored ? stored.settings : null,
      ),
    }),
  }),
);

export function setPrompt(prompt: string): void {
  useAppStore.setState({ prompt });
}

export function setSettings(settings: Partial<DrawSettings>): void {
  useAppStore.setState((s) => ({ settings: { ...s.settings, ...settings } }));
}

/** Back to dalle-mini's defaults; the model and backend stay (changing them reloads the model). */
export function resetSettings(): void {
  useAppStore.setState((s) => ({
    settings: { ...DEFAULT_SETTINGS, model: s.settings.model, backend: s.settings.backend },
  }));
}
