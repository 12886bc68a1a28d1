/**
 * The service worker (built by vite-plugin-pwa's injectManifest, tools/web/pwa.ts): after one visit the pages, their
 * scripts and ONNX Runtime's .mjs/.wasm load with no network, and the app can be installed.
 *
 * Workbox's precache with two changes to what `precacheAndRoute` does: a new version waits until the visitor reloads
 * for it (src/pwa.ts asks with SKIP_WAITING), and taking over deletes no older file while a page that may still load
 * it is open (src/service-worker/older-versions.ts). Cached responses keep the headers they were stored with
 * (COOP/COEP, the CSP), so the pages stay cross-origin isolated offline.
 */
import { clientsClaim } from 'workbox-core';
import type { WorkboxPlugin } from 'workbox-core';
import { ExpirationPlugin } from 'workbox-expiration';
import type { PrecacheEntry } from 'workbox-precaching';
import { cleanupOutdatedCaches, PrecacheController, PrecacheRoute } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { NetworkFirst } from 'workbox-strategies';
import { KEEP_ONLY_JSON, MODEL_INDEX_URL } from './service-worker/model-index.ts';
import { cachedPageIds, OlderVersionFiles, unlistedKeys } from './service-worker/older-versions.ts';

const sw = self as unknown as ServiceWorkerGlobalScope;
const scope = sw.registration.scope;

const precache = new PrecacheController();
// The build replaces `self.__WB_MANIFEST`, written just so, with this version's precache list.
precache.addToCacheList((self as unknown as { __WB_MANIFEST: (PrecacheEntry | string)[] }).__WB_MANIFEST);

// Installing fetches only what the cache lacks (an unchanged file keeps its key); it deletes nothing.
sw.addEventListener('install', (event) => void precache.install(event));
sw.addEventListener('message', (event) => {
  // "Reload to update" (src/pwa.ts through workbox-window's messageSkipWaiting).
  if ((event.data as { type?: unknown } | null)?.type === 'SKIP_WAITING') void sw.skipWaiting();
});
// The first install has no page to wait for: it controls the first visit at once, ready for offline.
clientsClaim();
// Caches of Workbox versions before v2's naming.
cleanupOutdatedCaches();

const olderVersions = new OlderVersionFiles(
  {
    list: async () =>
      (await sw.clients.matchAll({ type: 'window', includeUncontrolled: true }))
        .filter((client) => client.url.startsWith(scope))
        .map((client) => client.id),
    isOpen: async (id) => (await sw.clients.get(id)) !== undefined,
  },
  cachedPageIds(caches, 'older-version-pages', new URL('older-version-pages.json', scope).href),
  deleteUnlistedFiles,
);
sw.addEventListener('activate', (event) => event.waitUntil(olderVersions.activated()));

/** Deletes the precached files this version does not list, unless a newer version is installing its own beside them. */
async function deleteUnlistedFiles(): Promise<void> {
  const newerVersion = () => sw.registration.installing !== null || sw.registration.waiting !== null;
  if (newerVersion()) return;
  const cache = await caches.open(precache.strategy.cacheName);
  const cached = (await cache.keys()).map((request) => request.url);
  if (newerVersion()) return;
  const listed = new Set(precache.getURLsToCacheKeys().values());
  await Promise.all(unlistedKeys(cached, listed).map((key) => cache.delete(key)));
}

// A page of the app opens: the older versions' files go once their last page has closed. Also at the first request
// of each page (or worker) this service worker meets: while a tab reloads, its navigation is asked for before the
// older page is gone, so a visitor who only ever reloads one tab would otherwise keep every older version's files.
// Before any route: a route's respondWith() stops the event reaching later listeners.
const pagesMet = new Set<string>();
sw.addEventListener('fetch', (event) => {
  const firstOfPage = event.clientId !== '' && !pagesMet.has(event.clientId);
  if (firstOfPage) pagesMet.add(event.clientId);
  if (event.request.mode === 'navigate' || firstOfPage) event.waitUntil(olderVersions.check());
});

// This version's files. Every query parameter is ignored: the pages take their settings from it
// (`embed.html?model=…`), and with Workbox's default (only utm_* and fbclid) such a URL would miss and get the
// navigation fallback, the app's index.html, whose CSP only lets it frame in itself.
registerRoute(new PrecacheRoute(precache, { ignoreURLParametersMatching: [/./] }));

// Any other page of the app is the app. Opening a model file or the runtime's files directly must not show it.
registerRoute(
  new NavigationRoute(precache.createHandlerBoundToURL('index.html'), { denylist: [/\/models\//, /\/ort\//] }),
);

// The catalog and model manifests: fresh when online, the last copy offline; a slow network does not hold up the
// page when a last copy is at hand.
registerRoute(
  MODEL_INDEX_URL,
  new NetworkFirst({
    cacheName: 'model-index',
    networkTimeoutSeconds: 4,
    // Cast: its callbacks are declared `?:`, which exactOptionalPropertyTypes tells apart from WorkboxPlugin's.
    plugins: [new ExpirationPlugin({ maxEntries: 64 }) as WorkboxPlugin, KEEP_ONLY_JSON],
  }),
);

// An older version's scripts and ONNX Runtime's files, still in the precache while a page of that version is open
// (this version does not list them); anything else under those folders goes to the network.
const olderVersionFolders = [new URL('assets/', scope).href, new URL('ort/', scope).href];
registerRoute(
  ({ url }) => olderVersionFolders.some((folder) => url.href.startsWith(folder)),
  async ({ request }) => {
    const cache = await caches.open(precache.strategy.cacheName);
    // A file with a revision is kept under `…?__WB_REVISION__=…`. Vary is ignored: a module script is asked for with
    // an Origin header, the precache's request had none, and hosts send `Vary: Origin` (Workbox's own lookups pass
    // a URL, with no headers either).
    return (await cache.match(request, { ignoreSearch: true, ignoreVary: true })) ?? fetch(request);
  },
);
