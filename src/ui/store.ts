/**
 * The app's state in one zustand store. Components select primitives or stable references; the
 * controller (actions outside React) is the only writer besides the settings inputs.
 */
import { create } from 'zustand';
import type { CatalogModel } from '../model/catalog.ts';
import type { DownloadProgress } from '../store/progress.ts';
import type { BackendName, StorageInfo, StorageReport } from '../worker/protocol.ts';

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

export interface DrawSettings {
  /** How many images to draw. */
  readonly count: number;
  /** The seed field's text as typed; parsed exactly when drawing (seed-text.ts). */
  readonly seedText: string;
}

export interface AppState {
  readonly phase: Phase;
  readonly backend: BackendName | null;
  readonly backendReason: string;
  /** The loaded model's id (manifest.json), empty until loaded. */
  readonly modelId: string;
  readonly progress: Progress | null;
  readonly error: string | null;
  readonly prompt: string;
  readonly settings: DrawSettings;
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
}

export const INITIAL_STATE: AppState = {
  phase: 'loading',
  backend: null,
  backendReason: '',
  modelId: '',
  progress: null,
  error: null,
  prompt: '',
  settings: { count: 4, seedText: '0' },
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
};

export const useAppStore = create<AppState>()(() => INITIAL_STATE);

export function setPrompt(prompt: string): void {
  useAppStore.setState({ prompt });
}

export function setSettings(settings: Partial<DrawSettings>): void {
  useAppStore.setState((s) => ({ settings: { ...s.settings, ...settings } }));
}
