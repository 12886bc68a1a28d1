/// <reference types="vite-plugin-pwa/vanillajs" />
/**
 * Registers the service worker that keeps the app and ONNX Runtime available offline (built by
 * tools/web/pwa.ts). In `npm run dev` the virtual module registers nothing.
 */
import { registerSW } from 'virtual:pwa-register';
import { useAppStore } from './ui/store.ts';

const activateUpdate = registerSW({
  // A new version is installed and waits: the page offers to reload for it (StatusPanel), never reloads by itself.
  onNeedRefresh: () => useAppStore.setState({ applyUpdate: reloadForUpdate }),
  // Another tab's update took over this page too: reloading here would throw away a drawing in progress, so the
  // button stays, now only reloading (the new version already answers).
  onNeedReload: () => useAppStore.setState({ applyUpdate: () => location.reload(), versionReplaced: true }),
  // Without a service worker the app still works, online only.
  onRegisterError: (error: unknown) =>
    console.warn('Service worker registration failed; the app will not work offline.', error),
});

/** Lets the waiting version take over, then reloads into it (controllerchange: it now answers this page). */
function reloadForUpdate(): void {
  void navigator.serviceWorker.getRegistration().then((registration) => {
    // No version waits any more: another tab let it take over, and it answers this page already.
    if (!registration?.waiting) return location.reload();
    navigator.serviceWorker.addEventListener('controllerchange', () => location.reload(), { once: true });
    void activateUpdate();
  });
}

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
