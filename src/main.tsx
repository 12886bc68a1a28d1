/** Entry point: start the worker, read the model catalog, pick and load a model, render the app. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './ui/App.tsx';
import { createController } from './ui/controller.ts';
import { useAppStore } from './ui/store.ts';
import { readUrlOptions } from './ui/url-params.ts';
import { WorkerClient } from './worker/client.ts';
import './ui/app.css';
import './pwa.ts';

/** The site's model list; each model's folder is relative to it (or absolute). */
const CATALOG_PATH = 'models/catalog.json';
/** Where the build puts onnxruntime-web's .mjs/.wasm (see vite.config.ts): our own origin, so it works offline. */
const ORT_PATH = 'ort/';

const startWorker = (): WorkerClient =>
  new WorkerClient(new Worker(new URL('./worker/dalle.worker.ts', import.meta.url), { type: 'module', name: 'dalle' }));
const controller = createController(startWorker);
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
    <App controller={controller} catalogUrl={catalogUrl} />
  </StrictMode>,
);

// Loading starts here rather than in an effect, so StrictMode's double mount cannot load twice.
void controller
  .start({
    catalogUrl,
    wasmPaths: new URL(ORT_PATH, document.baseURI).href,
    ...(options.backend ? { backend: options.backend } : {}),
    ...(options.model ? { model: options.model } : {}),
  })
  .then(async () => {
    const { catalog, selectedModel } = useAppStore.getState();
    await controller.ranking.configure(
      catalogUrl,
      catalog.find((model) => model.id === selectedModel),
      options.rank,
    );
    void controller.ranking.modelReady();
    if (options.problem && !useAppStore.getState().error) useAppStore.setState({ error: options.problem });
  });
