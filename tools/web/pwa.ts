/**
 * The service worker's build and the web app manifest (vite-plugin-pwa, Workbox injectManifest): src/sw.ts gets the
 * list of files to precache, the pages, their scripts and ONNX Runtime's .mjs/.wasm (both builds: the WebGPU one and
 * the WASM-only one, src/pipeline/ort-build.ts), so that after one visit they load with no network; and the app can
 * be installed.
 *
 * Model files are not the service worker's business: the model store (src/store) keeps them in IndexedDB, checked
 * against their sha256. So `models/**` is never precached; src/sw.ts keeps a last copy of the small JSON indexes only.
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
    strategies: 'injectManifest',
    srcDir: 'src',
    filename: 'sw.ts',
    // A new version's service worker waits until the visitor reloads for it (src/pwa.ts offers a button) or every
    // tab of the app has closed: reloading by itself would cut a drawing off. Once it takes over, src/sw.ts keeps
    // the older version's files for the tabs still running it.
    registerType: 'prompt',
    // src/pwa.ts registers it from our own bundle: no inline script for the CSP to allow.
    injectRegister: false,
    manifest: WEB_APP_MANIFEST,
    // `npm run dev` stays a plain dev server: no service worker to serve stale modules.
    devOptions: { enabled: false },
    injectManifest: {
      // The web manifest and its icons are added by vite-plugin-pwa itself (includeManifestIcons).
      globPatterns: ['**/*.{html,js,css}', `${ortUrlDir}*.{mjs,wasm}`],
      globIgnores: ['models/**'],
      maximumFileSizeToCacheInBytes: ortMaxBytes,
      dontCacheBustURLsMatching: versionedUrls(ortUrlDir),
      manifestTransforms: [limitLargeEntries(ortUrlDir)],
      // One classic script: src/pwa.ts registers it as one (no module service worker).
      rollupFormat: 'iife',
    },
  });
}
