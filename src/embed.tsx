/**
 * Entry point of the embed widget (embed.html): the app's worker, controller and store behind a
 * compact UI, configured by URL parameters, with the postMessage API for trusted parent pages.
 * It registers no service worker: in a cross-site frame one would fill each embedding site's
 * partitioned storage with the whole app (the full app's service worker precaches embed.html).
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { EmbedApp } from './ui/embed/EmbedApp.tsx';
import { createEmbedBridge } from './ui/embed/embed-bridge.ts';
import { readEmbedOptions } from './ui/embed/embed-params.ts';
import { parentDraw } from './ui/embed/parent-draw.ts';
import { setPrompt, setSettings, useAppStore } from './ui/store.ts';
import { catalogUrl, exposeTestHook, startController, wasmPaths } from './page-setup.ts';
import './ui/app.css';
import './ui/embed/embed.css';

const options = readEmbedOptions(location.search);
if (options.theme !== 'auto') document.documentElement.dataset.theme = options.theme;
const controller = startController();
setPrompt(options.prompt);
setSettings({ count: options.count });
exposeTestHook();

/** The app's page, for "Open the full page": the same model and prompt. */
function fullPageUrl(): string {
  const url = new URL('./', document.baseURI);
  if (options.model) url.searchParams.set('model', options.model);
  return url.href;
}

const framed = window.parent !== window;
const bridge = createEmbedBridge({
  trustedOrigins: framed ? options.trustedOrigins : [],
  // Always an exact, trusted origin: the browser drops the message unless the parent is that origin.
  post: (message, origin) => window.parent.postMessage(message, origin),
  draw: parentDraw(controller, { count: options.count, seed: options.seed }),
  warn: (text) => console.warn(text),
});
window.addEventListener('message', (event) => {
  void bridge.receive({ origin: event.origin, data: event.data, fromParent: framed && event.source === window.parent });
});
useAppStore.subscribe((state, previous) => {
  if (state.phase === 'ready' && previous.phase === 'loading') bridge.announceReady(state.modelId);
});

const root = document.getElementById('root');
if (!root) throw new Error('embed.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <EmbedApp controller={controller} seed={options.seed} fullPageUrl={fullPageUrl()} problems={options.problems} />
  </StrictMode>,
);

void controller.start({
  catalogUrl: catalogUrl(),
  wasmPaths: wasmPaths(),
  ...(options.backend ? { backend: options.backend } : {}),
  ...(options.model ? { model: options.model } : {}),
});
