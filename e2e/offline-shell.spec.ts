/**
 * Offline: after one visit the service worker (tools/web/pwa.ts) has the app shell and ONNX
 * Runtime's files, and a reload with no network renders the page, as cross-origin isolated and
 * under the same CSP as online (cached responses keep the headers they were stored with).
 * Drawing offline needs the model store's copy of the model and is tested with it. A deploy is faked over dist/
 * (fake-deploy.ts) to test how an update reaches open tabs.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ORT_BUILDS } from '../src/pipeline/ort-build.ts';
import type { OrtBuildFiles } from '../src/pipeline/ort-build.ts';
import type { Page } from '@playwright/test';
import { expect, test } from './app-page.ts';
import { deployNewVersion } from './fake-deploy.ts';

/** ONNX Runtime's files live in a folder per version (vite.config.ts): `/ort/1.30.0/…`. */
const ORT_VERSION = (
  JSON.parse(readFileSync(join(import.meta.dirname, '../node_modules/onnxruntime-web/package.json'), 'utf8')) as {
    version: string;
  }
).version;
/** Each build's files (src/pipeline/ort-build.ts): WebGPU's JSEP build and the WASM-only one. */
const ORT_FILES = Object.fromEntries(
  Object.entries(ORT_BUILDS).map(([backend, { mjs, wasm }]) => [
    backend,
    { mjs: `/ort/${ORT_VERSION}/${mjs}`, wasm: `/ort/${ORT_VERSION}/${wasm}` },
  ]),
) as Record<keyof typeof ORT_BUILDS, OrtBuildFiles>;

interface CachedEntry {
  readonly cache: string;
  readonly path: string;
  readonly headers: Record<string, string>;
}

declare global {
  interface Window {
    __offlineCspViolations?: string[];
  }
}

/**
 * Each fetch of a .wasm: its path, and the bytes it took from the network (0 from the HTTP cache or the service
 * worker).
 */
function wasmTransfers(): { path: string; bytes: number }[] {
  return performance
    .getEntriesByType('resource')
    .filter((entry) => entry.name.endsWith('.wasm') || entry.name.includes('.wasm?'))
    .map((entry) => ({
      path: new URL(entry.name).pathname,
      bytes: (entry as PerformanceResourceTiming).transferSize,
    }));
}

test('on a first visit each ORT .wasm comes over the network once, shared by the page and the service worker', async ({
  playwright,
}) => {
  // A browser profile on disk, as a visitor has: Playwright's usual contexts are off the record, with
  // an in-memory HTTP cache too small to hold the .wasm, so the sharing could not happen there.
  const profile = await mkdtemp(join(tmpdir(), 'offline-shell-'));
  const { launchOptions, baseURL } = test.info().project.use;
  const context = await playwright.chromium.launchPersistentContext(profile, {
    ...launchOptions,
    ...(baseURL === undefined ? {} : { baseURL }),
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    // On a slow network the page fetches the .wasm while the service worker installs and fetches it
    // too; starting the page's fetch before the service worker is registered gives that overlap here.
    await page.addInitScript((wasm) => {
      void fetch(wasm).then((response) => response.arrayBuffer());
    }, ORT_FILES.wasm.wasm);
    await page.goto('./?backend=wasm');
    await expect(page.getByTestId('prompt.submit')).toBeEnabled({ timeout: 120_000 });
    await page.waitForFunction(() => navigator.serviceWorker.controller?.state === 'activated', undefined, {
      timeout: 60_000,
    });
    const worker = page.workers().find((w) => w.url().includes('dalle.worker'));
    const serviceWorker = context.serviceWorkers()[0];
    expect(worker && serviceWorker, 'the DALL·E worker and the service worker are running').toBeTruthy();
    // The WASM backend loads ORT's WASM-only build, never the JSEP one.
    const workerTransfers = await worker!.evaluate(wasmTransfers);
    expect(workerTransfers.map(({ path }) => path)).toContain(ORT_FILES.wasm.wasm);
    expect(workerTransfers.map(({ path }) => path)).not.toContain(ORT_FILES.webgpu.wasm);
    const transfers = [
      ...(await page.evaluate(wasmTransfers)),
      ...workerTransfers,
      ...(await serviceWorker!.evaluate(wasmTransfers)),
    ];
    // The service worker precaches both builds: the page's copy of the WASM-only one, the JSEP one on its own.
    for (const { wasm } of Object.values(ORT_FILES)) {
      const bytes = transfers.filter(({ path }) => path === wasm).map((transfer) => transfer.bytes);
      const wasmBytes = statSync(join(import.meta.dirname, '../dist', wasm)).size;
      expect(bytes.filter((b) => b > 0).length, `${wasm}: transfer sizes ${bytes.join(', ')}`).toBe(1);
      expect(
        bytes.reduce((sum, b) => sum + b, 0),
        wasm,
      ).toBeLessThan(wasmBytes * 1.1);
    }
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
});

test('after one visit the page loads with no network, isolated and under the CSP', async ({ app, page, context }) => {
  await page.addInitScript(() => {
    window.__offlineCspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__offlineCspViolations!.push(`${e.effectiveDirective} ${e.blockedURI}`),
    );
  });
  const cspMessages: string[] = [];
  page.on(
    'console',
    (message) => message.text().includes('Content Security Policy') && cspMessages.push(message.text()),
  );

  await page.goto('./');
  await expect(app.prompt).toBeVisible();
  const isolatedOnline = await page.evaluate(() => crossOriginIsolated);
  expect(isolatedOnline, 'vite preview sends COOP/COEP').toBe(true);

  await test.step('the service worker is active and controls the page', async () => {
    // Not `navigator.serviceWorker.ready` alone: it resolves while the worker may still be 'activating'.
    // clientsClaim: the first visit is controlled without a reload, once the precache (~44 MB) is in.
    await page.waitForFunction(() => navigator.serviceWorker.controller?.state === 'activated', undefined, {
      timeout: 60_000,
    });
    expect(await page.evaluate(async () => (await navigator.serviceWorker.ready).active?.state)).toBe('activated');
    expect(await page.evaluate(() => new URL(navigator.serviceWorker.controller!.scriptURL).pathname)).toBe('/sw.js');
  });

  expect(await page.evaluate(() => window.__offlineCspViolations ?? []), 'no CSP violation online').toEqual([]);

  // Now that the service worker controls the page, the model's manifest goes through its NetworkFirst route.
  expect(await page.evaluate(() => fetch('models/demo/manifest.json').then((r) => r.status))).toBe(200);

  const entries = await page.evaluate(async () => {
    const out: CachedEntry[] = [];
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      for (const request of await cache.keys()) {
        const response = await cache.match(request);
        out.push({
          cache: name,
          path: new URL(request.url).pathname,
          headers: Object.fromEntries(response?.headers ?? []),
        });
      }
    }
    return out;
  });
  const precached = entries.filter((entry) => entry.cache.startsWith('workbox-precache'));

  await test.step('ONNX Runtime and the app shell are precached, with their COOP/COEP/CSP headers; model files are not', () => {
    // The embed widget too: else the navigation fallback would answer /embed.html with the app's page.
    const ortFiles = Object.values(ORT_FILES).flatMap(({ mjs, wasm }) => [mjs, wasm]);
    for (const path of ['/index.html', '/embed.html', ...ortFiles, '/manifest.webmanifest', '/icon-192.png']) {
      expect(
        precached.map((entry) => entry.path),
        path,
      ).toContain(path);
    }
    for (const path of ['/index.html', ...ortFiles]) {
      const { headers } = precached.find((entry) => entry.path === path)!;
      expect(headers['cross-origin-opener-policy'], path).toBe('same-origin');
      expect(headers['cross-origin-embedder-policy'], path).toBe('require-corp');
      expect(headers['content-security-policy'], path).toContain("script-src 'self' 'wasm-unsafe-eval'");
    }
    const embed = precached.find((entry) => entry.path === '/embed.html')!;
    expect(embed.headers['content-security-policy']).toContain('frame-ancestors *');
    expect(embed.headers['cross-origin-resource-policy']).toBe('cross-origin');
    // Only the model's small JSON index is cached (NetworkFirst); its files belong to the model store.
    const modelEntries = entries.filter((entry) => entry.path.startsWith('/models/'));
    expect(modelEntries.map((entry) => entry.path)).toContain('/models/demo/manifest.json');
    const others = modelEntries.filter(
      (entry) =>
        entry.cache !== 'model-index' || !/^\/models\/(?:catalog\.json|[^/]+\/manifest\.json)$/.test(entry.path),
    );
    expect(others.map((entry) => `${entry.cache} ${entry.path}`)).toEqual([]);
  });

  await context.setOffline(true);
  await test.step('the network is really gone, for the page and for the service worker', async () => {
    // A URL no cache answers goes to the network and fails.
    expect(
      await page.evaluate(() =>
        fetch(`/offline-check-${Date.now()}.svg`).then(
          () => 'fetched',
          () => 'failed',
        ),
      ),
    ).toBe('failed');
    const serviceWorker = context.serviceWorkers()[0];
    expect(serviceWorker, 'the service worker is visible to Playwright').toBeDefined();
    expect(
      await serviceWorker!.evaluate(() =>
        fetch(`/offline-check-${Date.now()}.svg`).then(
          () => 'fetched',
          () => 'failed',
        ),
      ),
    ).toBe('failed');
  });

  await test.step('offline, the model manifest is the last copy and model files are not in any cache', async () => {
    const manifest = await page.evaluate(() =>
      fetch('models/demo/manifest.json').then((r) => r.json() as Promise<{ modelId: string }>),
    );
    expect(manifest.modelId).toBe('demo-shapes');
    expect(
      await page.evaluate(() =>
        fetch('models/demo/vocab.json').then(
          () => 'fetched',
          () => 'failed',
        ),
      ),
    ).toBe('failed');
  });

  await test.step('a reload with no network renders the page, isolated as online, under the same CSP', async () => {
    const response = await page.reload();
    expect(response?.fromServiceWorker(), 'the page came from the service worker').toBe(true);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self' 'wasm-unsafe-eval'");
    await expect(app.prompt).toBeVisible();
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(isolatedOnline);
    // The DALL·E worker's own isolation decides WASM threads (src/worker/backend.ts): its script is precached too.
    await expect.poll(() => page.workers().some((w) => w.url().includes('dalle.worker'))).toBe(true);
    const worker = page.workers().find((w) => w.url().includes('dalle.worker'))!;
    expect(await worker.evaluate(() => self.crossOriginIsolated)).toBe(isolatedOnline);
    // What ORT loads in the worker comes from the cache and is usable, for either backend: the glue imports, the
    // .wasm compiles.
    for (const [backend, { mjs, wasm }] of Object.entries(ORT_FILES)) {
      const ort = await worker.evaluate(
        async ([glueUrl, wasmUrl]) => {
          const glue: unknown = await import(glueUrl);
          const module = await WebAssembly.compileStreaming(fetch(wasmUrl));
          return {
            glue: typeof (glue as { default?: unknown }).default,
            exports: WebAssembly.Module.exports(module).length,
          };
        },
        [mjs, wasm] as const,
      );
      expect(ort.glue, backend).toBe('function');
      expect(ort.exports, backend).toBeGreaterThan(0);
    }
    expect(await page.evaluate(() => window.__offlineCspViolations ?? [])).toEqual([]);
    expect(cspMessages).toEqual([]);
  });

  await test.step('the widget with its query is the widget, not the app the navigation fallback would give', async () => {
    // A query string must not make /embed.html miss the precache: the fallback's index.html only frames in itself.
    const response = await page.goto('./embed.html?model=demo&lang=en');
    expect(response?.fromServiceWorker()).toBe(true);
    expect(response?.headers()['content-security-policy']).toContain('frame-ancestors *');
    await expect(page).toHaveTitle('DALL·E Mini widget');
  });

  await context.setOffline(false);
});

test('after one visit that drew, a reload with no network draws the same tokens', async ({ app, page, context }) => {
  await app.open('wasm');
  await page.waitForFunction(() => navigator.serviceWorker.controller?.state === 'activated', undefined, {
    timeout: 60_000,
  });
  await app.draw('a boat on a calm sea', 1, 0);
  await expect(app.progress).toContainText('Done', { timeout: 120_000 });
  const online = await app.tokens();

  await context.setOffline(true);
  try {
    await app.open('wasm');
    await app.draw('a boat on a calm sea', 1, 0);
    await expect(app.progress).toContainText('Done', { timeout: 120_000 });
    expect(await app.tokens()).toEqual(online);
    await expect(app.error).toHaveCount(0);
  } finally {
    await context.setOffline(false);
  }
});

test('a new version waits for the visitor: open tabs keep their own, offer to reload, and then run the new one', async ({
  app,
  page,
  context,
}) => {
  await page.goto('./');
  await expect(app.prompt).toBeVisible();
  await page.waitForFunction(() => navigator.serviceWorker.controller?.state === 'activated', undefined, {
    timeout: 60_000,
  });
  // A second tab of the app, open while the new version arrives.
  const second = await context.newPage();
  await second.goto('./');
  await expect(second.getByTestId('prompt.input')).toBeVisible();
  // A deploy: the service worker script changes (one more comment makes a new version for the browser). The
  // preview server reads files as they are asked for, and the tests run one at a time; the build is restored after.
  const script = join(import.meta.dirname, '../dist/sw.js');
  const deployed = readFileSync(script, 'utf8');
  writeFileSync(script, `${deployed}\n// the next deploy\n`);
  try {
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())!.update());
    await expect(page.getByTestId('status.update')).toContainText('A new version of the app is ready');
    const waiting = () => page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.waiting?.state);
    expect(await waiting(), 'installed, not yet in charge of the open page').toBe('installed');
    await Promise.all([page.waitForEvent('load'), page.getByTestId('status.update-reload').click()]);
    await expect(app.prompt).toBeVisible();
    expect(await waiting()).toBeUndefined();
    await expect(page.getByTestId('status.update')).toHaveCount(0);
    // The second tab still runs the old version's scripts: it keeps offering to reload (the new version already
    // answers it), and its button reloads it once.
    const secondUpdate = second.getByTestId('status.update-reload');
    await expect(secondUpdate).toBeVisible();
    await Promise.all([second.waitForEvent('load'), secondUpdate.click()]);
    await expect(second.getByTestId('prompt.input')).toBeVisible();
    await expect(second.getByTestId('status.update')).toHaveCount(0);
  } finally {
    writeFileSync(script, deployed);
  }
});

/** The windows of the app open, as the service worker counts them (run in the service worker). */
async function openWindowCount(): Promise<number> {
  const { clients } = self as unknown as ServiceWorkerGlobalScope;
  return (await clients.matchAll({ type: 'window', includeUncontrolled: true })).length;
}

/** The paths the precache holds, as seen from `page`. */
function precachedPaths(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const name = (await caches.keys()).find((key) => key.startsWith('workbox-precache'));
    const cache = name === undefined ? undefined : await caches.open(name);
    return cache ? (await cache.keys()).map((request) => new URL(request.url).pathname) : [];
  });
}

test('after another tab updates, an open tab of the older version still loads its own files; they go once it closes', async ({
  app,
  page,
  context,
}) => {
  // This tab stays on the older version: it has not loaded CLIP's runtime (a part imported when ranking is turned on).
  await app.open('wasm');
  await page.waitForFunction(() => navigator.serviceWorker.controller?.state === 'activated', undefined, {
    timeout: 60_000,
  });
  const updater = await context.newPage();
  await updater.goto('./');
  await expect(updater.getByTestId('prompt.input')).toBeVisible();

  const deploy = deployNewVersion();
  try {
    const olderFiles = [...deploy.renamed.keys()];
    const isOlder = (path: string) => olderFiles.includes(path) || path.startsWith(deploy.ortFolder[0]);
    const clipRuntime = olderFiles.find((path) => path.includes('transformers'));
    expect(clipRuntime, 'a lazily imported part').toBeDefined();
    // The server has only the new version's files now (asked directly, not through the service worker).
    const fromServer = await context.request.get(clipRuntime!);
    expect(fromServer.ok() && fromServer.headers()['content-type']?.includes('javascript')).toBe(false);

    await test.step('the other tab reloads into the new version', async () => {
      await updater.evaluate(async () => (await navigator.serviceWorker.getRegistration())!.update());
      await expect(updater.getByTestId('status.update')).toContainText('A new version of the app is ready');
      await Promise.all([updater.waitForEvent('load'), updater.getByTestId('status.update-reload').click()]);
      await expect(updater.getByTestId('prompt.input')).toBeVisible();
      expect(await precachedPaths(updater)).toEqual(expect.arrayContaining([...deploy.renamed.values()]));
    });

    await test.step('the older tab turns ranking on and ranks a drawing, its files served from the precache', async () => {
      expect(await precachedPaths(page)).toEqual(expect.arrayContaining(olderFiles));
      // ONNX Runtime's files of the older version too (kept under their plain URL), though the host has a new folder.
      const olderOrt = `${deploy.ortFolder[0]}${ORT_BUILDS.webgpu.mjs}`;
      expect((await context.request.get(olderOrt)).headers()['content-type']).not.toContain('javascript');
      expect(await page.evaluate((url) => fetch(url).then((r) => r.headers.get('content-type')), olderOrt)).toContain(
        'javascript',
      );
      await app.rankingEnabled.check();
      await expect(page.getByTestId('ranking.status')).toHaveCount(0, { timeout: 60_000 }); // CLIP loaded
      await app.candidates.fill('2');
      await app.draw('a red apple on a table', 1, 0);
      await expect(app.progress).toContainText('Done', { timeout: 120_000 });
      await expect(app.error).toHaveCount(0);
      await expect(app.gridScores).toHaveCount(1);
    });

    await test.step('once the older tab has closed, the next page opened deletes its files', async () => {
      await page.close();
      // Closing is not instant: until the service worker no longer counts the tab, it would wait for it still.
      await expect.poll(() => context.serviceWorkers().at(-1)!.evaluate(openWindowCount)).toBe(1);
      await updater.reload();
      await expect
        .poll(async () => (await precachedPaths(updater)).filter((path) => isOlder(path)), {
          timeout: 30_000,
        })
        .toEqual([]);
      expect(await precachedPaths(updater)).toEqual(expect.arrayContaining([...deploy.renamed.values()]));
    });
  } finally {
    deploy.restore();
  }
});
