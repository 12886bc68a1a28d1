/** Entry point: start the worker, read the model catalog, pick and load a model, render the app. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './ui/App.tsx';
import { createHistoryActions } from './ui/history/history-actions.ts';
import type { HistoryActions } from './ui/history/history-actions.ts';
import { setPrompt, setSettings } from './ui/store.ts';
import { startApp } from './ui/start-app.ts';
import { readUrlOptions } from './ui/url-params.ts';
import { catalogUrl, exposeTestHook, startController, wasmPaths } from './page-setup.ts';
import './ui/app.css';
import './pwa.ts';

// The history keeps every finished drawing; it needs the controller to draw them again.
const drawn: { history?: HistoryActions } = {};
const controller = startController({
  onDrawn: (drawing, result) => void drawn.history?.record(drawing, result),
});
const history = createHistoryActions(controller);
drawn.history = history;
void history.open();
const options = readUrlOptions(location.search);
const catalog = catalogUrl();
exposeTestHook();

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <App controller={controller} history={history} catalogUrl={catalog} />
  </StrictMode>,
);

// A share link fills the prompt and settings and waits for Draw; `?backend=` is a setting like the panel's.
setSettings({ ...options.settings, ...(options.backend ? { backend: options.backend } : {}) });
if (options.prompt !== undefined) setPrompt(options.prompt);

// Loading starts here rather than in an effect, so StrictMode's double mount cannot load twice.
void startApp(
  controller,
  { catalogUrl: catalog, wasmPaths: wasmPaths(), ...(options.model ? { model: options.model } : {}) },
  options.problems,
);
