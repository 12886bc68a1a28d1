/// <reference types="vite-plugin-pwa/vanillajs" />
/**
 * Registers the service worker that keeps the app and ONNX Runtime available offline (built by
 * tools/web/pwa.ts). In `npm run dev` the virtual module registers nothing.
 */
import { registerSW } from 'virtual:pwa-register';

registerSW({
  // A new version has taken over: it runs from the next load. Reloading now, the default, would
  // throw away a drawing in progress.
  onNeedReload: () => {},
  // Without a service worker the app still works, online only.
  onRegisterError: (error: unknown) =>
    console.warn('Service worker registration failed; the app will not work offline.', error),
});

// On the first visit the page fetches the model catalog before the service worker is there to keep
// a copy; fetching it again once the worker controls the page makes one visit enough for offline.
// A missing catalog is not kept (see KEEP_ONLY_JSON), so this costs one small request, once.
if ('serviceWorker' in navigator && !navigator.serviceWorker.controller) {
  navigator.serviceWorker.addEventListener(
    'controllerchange',
    () => {
      void fetch(new URL('models/catalog.json', document.baseURI))
        .then((response) => response.arrayBuffer())
        .catch(() => undefined);
    },
    { once: true },
  );
}
