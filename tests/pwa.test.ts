/** The service worker's build (tools/web/pwa.ts) and model-index route; the installable app's manifest and icons. */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { KEEP_ONLY_JSON, MODEL_INDEX_URL } from '../src/service-worker/model-index.ts';
import { limitLargeEntries, THEME_COLOR, versionedUrls, WEB_APP_MANIFEST } from '../tools/web/pwa.ts';

const ROOT = join(import.meta.dirname, '..');

void test('the model-index route takes the catalog and model manifests, never model files', () => {
  for (const url of [
    'http://h/models/catalog.json',
    'http://h/models/demo/manifest.json',
    'https://h/app/models/dalle-mini/manifest.json',
  ]) {
    assert.match(url, MODEL_INDEX_URL, url);
  }
  for (const url of [
    'http://h/models/demo/encoder.onnx',
    'http://h/models/demo/decoder.onnx_data',
    'http://h/models/demo/vocab.json',
    'http://h/models/a/b/manifest.json',
    'http://h/models/demo/manifest.json?v=1',
    'http://h/manifest.json',
  ]) {
    assert.doesNotMatch(url, MODEL_INDEX_URL, url);
  }
});

void test('only JSON with status 200 is kept: a host answering a missing catalog with index.html is not', async () => {
  const json = new Response('{}', { headers: { 'content-type': 'application/json; charset=utf-8' } });
  assert.equal(await KEEP_ONLY_JSON.cacheWillUpdate({ response: json }), json);
  assert.equal(
    await KEEP_ONLY_JSON.cacheWillUpdate({
      response: new Response('<!doctype html>', { headers: { 'content-type': 'text/html' } }),
    }),
    null,
  );
  assert.equal(
    await KEEP_ONLY_JSON.cacheWillUpdate({
      response: new Response('{}', { status: 404, headers: { 'content-type': 'application/json' } }),
    }),
    null,
  );
});

void test('only ORT runtime files may pass the 2 MiB precache limit; any other large file fails the build', async () => {
  const transform = limitLargeEntries('ort/1.30.0/');
  const entries = [
    { url: 'ort/1.30.0/ort-wasm-simd-threaded.jsep.wasm', revision: null, size: 28_312_028 },
    { url: 'assets/index-x.js', revision: null, size: 234_325 },
  ];
  assert.deepEqual(await transform(entries), { manifest: entries });
  assert.throws(
    () => transform([...entries, { url: 'assets/big-x.js', revision: null, size: 3 << 20 }]),
    /assets\/big-x\.js \(3145728 bytes\)/,
  );
});

void test('the manifest makes the app installable: names, standalone, the page colours, icons that exist and are small', () => {
  assert.equal(WEB_APP_MANIFEST.name, 'DALL·E Mini');
  assert.ok(WEB_APP_MANIFEST.short_name && WEB_APP_MANIFEST.short_name.length <= 12);
  assert.equal(WEB_APP_MANIFEST.display, 'standalone');
  assert.equal(WEB_APP_MANIFEST.start_url, '.');
  assert.equal(WEB_APP_MANIFEST.scope, '.');
  assert.match(
    readFileSync(join(ROOT, 'index.html'), 'utf8'),
    new RegExp(`<meta name="theme-color" content="${THEME_COLOR}"`),
  );
  assert.match(
    readFileSync(join(ROOT, 'src/ui/app.css'), 'utf8'),
    // The light scheme's page colour (the dark scheme has its own theme-color meta tag).
    new RegExp(`:root \\{[^}]*--page: light-dark\\(${THEME_COLOR},`),
  );

  const icons = WEB_APP_MANIFEST.icons ?? [];
  for (const [sizes, purpose] of [
    ['192x192', 'any'],
    ['512x512', 'any'],
    ['512x512', 'maskable'],
    ['any', 'any'],
  ]) {
    assert.ok(
      icons.some((icon) => icon.sizes === sizes && icon.purpose === purpose),
      `${sizes} ${purpose}`,
    );
  }
  for (const icon of icons) {
    const path = join(ROOT, 'public', icon.src);
    assert.ok(statSync(path).size < 20_000, `${icon.src} is under 20 KB`);
    if (icon.type !== 'image/png') continue;
    const png = readFileSync(path);
    assert.equal(`${png.readUInt32BE(16)}x${png.readUInt32BE(20)}`, icon.sizes, icon.src);
  }
});

void test('precache entries in the versioned ONNX Runtime folder keep their plain URL (the folder is the revision)', () => {
  const versioned = versionedUrls('ort/1.30.0/');
  assert.match('ort/1.30.0/ort-wasm-simd-threaded.jsep.wasm', versioned);
  for (const url of ['ort/1x30x0/ort.wasm', 'assets/ort/1.30.0/ort.wasm', 'ort/ort.wasm', 'index.html'])
    assert.doesNotMatch(url, versioned, url);
});
