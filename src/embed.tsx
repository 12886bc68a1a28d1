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
import { createJSONStorage } from 'zustand/middleware';
import { currentLanguage } from './ui/i18n.ts';
import { DEFAULT_SETTINGS } from './ui/settings.ts';
import { useAppStore } from './ui/store.ts';
import { catalogUrl, exposeTestHook, startController, wasmPaths } from './page-setup.ts';
import './ui/app.css';
import './ui/embed/embed.css';

const options = readEmbedOptions(location.search);
if (options.theme !== 'auto') document.documentElement.dataset.theme = options.theme;

// The widget's settings come from its URL and last for the visit: the app's stored settings (same
// origin, same store) stay as the visitor left them.
const memory = new Map<string, string>();
useAppStore.persist.setOptions({
  storage: createJSONStorage(() => ({
    getItem: (key) => memory.get(key) ?? null,
    setItem: (key, value) => void memory.set(key, value),
    removeItem: (key) => void memory.delete(key),
  })),
});
useAppStore.setState({
  prompt: options.prompt,
  settings: { ...DEFAULT_SETTINGS, ...options.settings, ...(options.backend ? { backend: options.backend } : {}) },
});
const controller = startController();
exposeTestHook();

/**
 * The app's page, for "Open the full page": the same model, the prompt as typed now, and the language the widget was
 * told (`lang=`; else the full page follows the visitor's own choice there, which a partitioned frame cannot see).
 */
function fullPageUrl(prompt: string): string {
  const url = new URL('./', document.baseURI);
  if (options.model) url.searchParams.set('model', options.model);
  if (prompt.trim() !== '') url.searchParams.set('prompt', prompt.trim());
  if (new URLSearchParams(location.search).has('lang')) url.searchParams.set('lang', currentLanguage());
  return url.href;
}

const framed = window.parent !== window;
const bridge = createEmbedBridge({
  trustedOrigins: framed ? options.trustedOrigins : [],
  // Always an exact, trusted origin: the browser drops the message unless the parent is that origin.
  post: (message, origin) => window.parent.postMessage(message, origin),
  draw: parentDraw(controller),
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
    <EmbedApp controller={controller} fullPageUrl={fullPageUrl} problems={options.problems} />
  </StrictMode>,
);

void controller.start({
  catalogUrl: catalogUrl(),
  wasmPaths: wasmPaths(),
  ...(options.model ? { model: options.model } : {}),
});
