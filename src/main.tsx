/** Entry point: start the worker, read the model catalog, pick and load a model, render the app. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './ui/App.tsx';
import { useAppStore } from './ui/store.ts';
import { readUrlOptions } from './ui/url-params.ts';
import { catalogUrl, exposeTestHook, startController, wasmPaths } from './page-setup.ts';
import './ui/app.css';
import './pwa.ts';

const controller = startController();
const options = readUrlOptions(location.search);
const catalog = catalogUrl();
exposeTestHook();

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <App controller={controller} catalogUrl={catalog} />
  </StrictMode>,
);

// Loading starts here rather than in an effect, so StrictMode's double mount cannot load twice.
void controller
  .start({
    catalogUrl: catalog,
    wasmPaths: wasmPaths(),
    ...(options.backend ? { backend: options.backend } : {}),
    ...(options.model ? { model: options.model } : {}),
  })
  .then(() => {
    if (options.problem && !useAppStore.getState().error) useAppStore.setState({ error: options.problem });
  });
