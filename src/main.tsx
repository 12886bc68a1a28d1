/** Entry point: start the worker, read the model catalog, pick and load a model, render the app. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './ui/App.tsx';
import { createController } from './ui/controller.ts';
import { createHistoryActions } from './ui/history/history-actions.ts';
import type { HistoryActions } from './ui/history/history-actions.ts';
import { setPrompt, setSettings, useAppStore } from './ui/store.ts';
import { readUrlOptions } from './ui/url-params.ts';
import { WorkerClient } from './worker/client.ts';
import './ui/app.css';
import './pwa.ts';

/** The site's model list; each model's folder is relative to it (or absolute). */
const CATALOG_PATH = 'models/catalog.json';
/**
 * Where the build puts onnxruntime-web's .mjs/.wasm, `ort/<version>/` (vite.config.ts defines it): our
 * own origin, so it works offline, and a versioned URL the service worker shares with the page.
 */
declare const __ORT_PATH__: string;

const startWorker = (): WorkerClient =>
  new WorkerClient(new Worker(new URL('./worker/dalle.worker.ts', import.meta.url), { type: 'module', name: 'dalle' }));
// The history keeps every finished drawing; it needs the controller to draw them again.
const drawn: { history?: HistoryActions } = {};
const controller = createController(startWorker, {
  onDrawn: (drawing, result) => void drawn.history?.record(drawing, result),
});
const history = createHistoryActions(controller);
drawn.history = history;
void history.open();
const options = readUrlOptions(location.search);
const catalogUrl = new URL(CATALOG_PATH, document.baseURI).href;

declare global {
  interface Window {
    /** Read-only access for end-to-end tests (state such as the last drawing's tokens). */
    __appTest?: { readonly state: () => ReturnType<typeof useAppStore.getState> };
  }
}
window.__appTest = { state: () => useAppStore.getState() };

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <App controller={controller} history={history} catalogUrl={catalogUrl} />
  </StrictMode>,
);

// A share link fills the prompt and settings and waits for Draw; `?backend=` is a setting like the panel's.
setSettings({ ...options.settings, ...(options.backend ? { backend: options.backend } : {}) });
if (options.prompt !== undefined) setPrompt(options.prompt);

// Loading starts here rather than in an effect, so StrictMode's double mount cannot load twice.
void controller
  .start({
    catalogUrl,
    wasmPaths: new URL(__ORT_PATH__, document.baseURI).href,
    ...(options.model ? { model: options.model } : {}),
  })
  .then(() => {
    const problems = [useAppStore.getState().error, ...options.problems].filter((p) => p !== null);
    if (problems.length > 0) useAppStore.setState({ error: problems.join(' ') });
  });
