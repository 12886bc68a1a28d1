/** What both pages (the app, main.tsx, and the embed widget, embed.tsx) set up the same way. */
import { createController } from './ui/controller.ts';
import type { Controller, ControllerEvents } from './ui/controller.ts';
import { useRankingStore } from './ui/ranking-store.ts';
import { useAppStore } from './ui/store.ts';
import { WorkerClient } from './worker/client.ts';

/** The site's model list; each model's folder is relative to it (or absolute). */
const CATALOG_PATH = 'models/catalog.json';
/**
 * Where the build puts onnxruntime-web's .mjs/.wasm, `ort/<version>/` (vite.config.ts defines it): our
 * own origin, so it works offline, and a versioned URL the service worker shares with the page.
 */
declare const __ORT_PATH__: string;

export const catalogUrl = (): string => new URL(CATALOG_PATH, document.baseURI).href;
export const wasmPaths = (): string => new URL(__ORT_PATH__, document.baseURI).href;

const startWorker = (): WorkerClient =>
  new WorkerClient(new Worker(new URL('./worker/dalle.worker.ts', import.meta.url), { type: 'module', name: 'dalle' }));

/** The page's controller, with its first worker started. */
export const startController = (events: ControllerEvents = {}): Controller => createController(startWorker, events);

declare global {
  interface Window {
    /** Read-only access for end-to-end tests (state such as the last drawing's tokens). */
    __appTest?: {
      readonly state: () => ReturnType<typeof useAppStore.getState>;
      readonly ranking: () => ReturnType<typeof useRankingStore.getState>;
    };
  }
}

export function exposeTestHook(): void {
  window.__appTest = { state: () => useAppStore.getState(), ranking: () => useRankingStore.getState() };
}
