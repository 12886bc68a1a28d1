/**
 * The app's state in one zustand store. Components select primitives or stable references; the
 * controller (actions outside React) is the only writer besides the settings inputs.
 */
import { create } from 'zustand';
import type { BackendName } from '../worker/protocol.ts';

export type Phase = 'loading' | 'ready' | 'generating' | 'failed';

export interface Progress {
  readonly label: string;
  /** 0 … 1; null while the amount of work is unknown. */
  readonly fraction: number | null;
}

export interface DrawSettings {
  readonly images: number;
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
}

export const INITIAL_STATE: AppState = {
  phase: 'loading',
  backend: null,
  backendReason: '',
  modelId: '',
  progress: null,
  error: null,
  prompt: '',
  settings: { images: 4, seedText: '0' },
  images: [],
  tokens: [],
  imageSize: 256,
};

export const useAppStore = create<AppState>()(() => INITIAL_STATE);

export function setPrompt(prompt: string): void {
  useAppStore.setState({ prompt });
}

export function setSettings(settings: Partial<DrawSettings>): void {
  useAppStore.setState((s) => ({ settings: { ...s.settings, ...settings } }));
}
