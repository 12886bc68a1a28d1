/**
 * The service worker and web app manifest (vite-plugin-pwa, Workbox generateSW): after one visit the
 * page, its scripts and ONNX Runtime's .mjs/.wasm (both builds: the WebGPU one and the WASM-only one,
 * src/pipeline/ort-build.ts) load with no network, and the app can be installed.
 *
 * Model files are not the service worker's business: the model store (src/store) keeps them in
 * IndexedDB, checked against their sha256, and a second copy in Cache Storage would double a
 * gigabyte-sized download and the disk it takes. So `models/**` is neither precached nor cached at
 * run time, except the small JSON indexes (catalog and per-model manifests), fresh when online and
 * the last copy offline.
 *
 * Cached responses keep the headers they were stored with, COOP/COEP and the CSP included, so the
 * page stays cross-origin isolated (WASM threads) when the service worker answers offline.
 */
import { VitePWA } from 'vite-plugin-pwa';
import type { ManifestOptions, VitePWAOptions } from 'vite-plugin-pwa';
import type { PluginOption } from 'vite';

/** The page colour of the light scheme (src/ui/app.css `--page`); index.html's light theme-color says the same. */
export const THEME_COLOR = '#fafafa';

export const WEB_APP_MANIFEST: Partial<ManifestOptions> = {
  id: '.',
  name: 'DALL·E Mini',
  short_name: 'DALL·E Mini',
  description: 'DALL·E Mini running entirely in your browser with WebGPU or WebAssembly.',
  lang: 'en',
  // Relative to the manifest, so the app installs the same under any base path.
  start_url: '.',
  scope: '.',
  display: 'standalone',
  theme_color: THEME_COLOR,
  background_color: THEME_COLOR,
  icons: [
    { src: 'icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
    { src: 'icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
    { src: 'icon-maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
    { src: 'favicon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' },
  ],
};

/**
 * Same-origin model indexes the service worker keeps a last copy of: `models/catalog.json` and
 * `models/<id>/manifest.json`.
 */
export const MODEL_INDEX_URL = /\/models\/(?:catalog\.json|[^/?#]+\/manifest\.json)$/;

/**
 * A Workbox plugin for the model-index route: only real JSON is kept, because static hosts answer a
 * missing catalog with their index.html and status 200. Workbox copies its source into sw.js, so it
 * may use nothing from this module.
 */
export const KEEP_ONLY_JSON = {
  cacheWillUpdate: ({ response }: { response: Response }): Promise<Response | null> =>
    Promise.resolve(
      response.status === 200 && (response.headers.get('content-type') ?? '').includes('json') ? response : null,
    ),
};

/** Workbox's own default limit; only ONNX Runtime's runtime files may be larger. */
const DEFAULT_MAX_PRECACHE_BYTES = 2 * 1024 * 1024;

type ManifestTransform = NonNullable<NonNullable<VitePWAOptions['workbox']>['manifestTransforms']>[number];

/**
 * Lets only files under `largeDir` past Workbox's usual 2 MiB limit (`maximumFileSizeToCacheInBytes`
 * is raised for ORT's .wasm files of 14 and 28 MB, and one limit applies to every file). Any other file that large
 * fails the build: silently leaving it out of the precache would break the page offline.
 */
export function limitLargeEntries(largeDir: string): ManifestTransform {
  return (entries) => {
    const large = entries.filter((entry) => entry.size > DEFAULT_MAX_PRECACHE_BYTES && !entry.url.startsWith(largeDir));
    if (large.length > 0) {
      const names = large.map((entry) => `${entry.url} (${entry.size} bytes)`).join(', ');
      throw new Error(
        `Precache: ${names} over ${DEFAULT_MAX_PRECACHE_BYTES} bytes; split the chunk or allow it in tools/web/pwa.ts.`,
      );
    }
    return { manifest: entries };
  };
}

/**
 * Precache entries under `versionedDir` (`ort/<version>/`) keep their plain URL: the folder name is
 * their revision. Workbox would otherwise fetch `…wasm?__WB_REVISION__=…` with `cache: 'reload'`, a
 * second download of up to 28 MB next to the page's own fetch of the plain URL on the first visit; with no
 * revision it fetches the same URL with the default cache mode and gets the page's copy.
 */
export function versionedUrls(versionedDir: string): RegExp {
  return new RegExp(`^${versionedDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);
}

export interface PwaOptions {
  /** Where ONNX Runtime's .mjs/.wasm are served, relative to the base: a folder per version (`ort/1.30.0/`). */
  readonly ortUrlDir: string;
  /** Size of the largest ORT runtime file, the precache's size limit. */
  readonly ortMaxBytes: number;
}

export function pwa({ ortUrlDir, ortMaxBytes }: PwaOptions): PluginOption {
  return VitePWA({
    strategies: 'generateSW',
    // A new version's service worker waits until the visitor reloads for it (src/pwa.ts offers a button) or every
    // tab of the app has closed: taking over at once would delete the open page's old hashed scripts and ORT files
    // from the precache, which that page still loads when it switches model or backend (offline, nothing else has
    // them), and reloading for it would cut a drawing off.
    registerType: 'prompt',
    // src/pwa.ts registers it from our own bundle: no inline script for the CSP to allow.
    injectRegister: false,
    manifest: WEB_APP_MANIFEST,
    // `npm run dev` stays a plain dev server: no service worker to serve stale modules.
    devOptions: { enabled: false },
    workbox: {
      // The web manifest and its icons are added by vite-plugin-pwa itself (includeManifestIcons).
      globPatterns: ['**/*.{html,js,css}', `${ortUrlDir}*.{mjs,wasm}`],
      globIgnores: ['models/**'],
      maximumFileSizeToCacheInBytes: ortMaxBytes,
      dontCacheBustURLsMatching: versionedUrls(ortUrlDir),
      manifestTransforms: [limitLargeEntries(ortUrlDir)],
      // An update waits (the SW answers src/pwa.ts's SKIP_WAITING message); the first install has nothing to wait
      // for, and clientsClaim has it control the first visit without a reload, ready for offline at once.
      skipWaiting: false,
      clientsClaim: true,
      cleanupOutdatedCaches: true,
      // Every query parameter is ignored when matching the precache: the pages take their settings from it
      // (`embed.html?model=…`), and with Workbox's default (only utm_* and fbclid) such a URL would miss and get the
      // navigation fallback, the app's index.html, whose CSP only lets it frame in itself.
      ignoreURLParametersMatching: [/./],
      navigateFallback: 'index.html',
      // Opening a model file or the runtime's files directly must not show the app instead.
      navigateFallbackDenylist: [/\/models\//, /\/ort\//],
      runtimeCaching: [
        {
          urlPattern: MODEL_INDEX_URL,
          handler: 'NetworkFirst',
          options: {
            cacheName: 'model-index',
            // A slow network does not hold up the page when a last copy is at hand.
            networkTimeoutSeconds: 4,
            expiration: { maxEntries: 64 },
            plugins: [KEEP_ONLY_JSON],
          },
        },
      ],
    },
  });
}
