/** Which onnxruntime-web build each backend loads (src/pipeline/ort-build.ts), against the installed package. */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { ORT_BUILDS, ORT_RUNTIME_FILES, ortBuildFor, ortWasmPaths } from '../src/pipeline/ort-build.ts';

const ORT_DIST = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));

void test('each backend’s build is the one ORT’s own entry for it loads, and the WASM-only one is the smaller', () => {
  // The app's entry (vite.config.ts: `onnxruntime-web-use-extern-wasm`) carries both EPs and names the JSEP glue;
  // `onnxruntime-web/wasm` names the WASM-only glue. An ORT release that renames them fails here, not in a browser.
  const appEntry = readFileSync(join(ORT_DIST, 'ort.min.mjs'), 'utf8');
  assert.ok(appEntry.includes(`"${ORT_BUILDS.webgpu.mjs}"`));
  assert.ok(readFileSync(join(ORT_DIST, 'ort.wasm.min.mjs'), 'utf8').includes(`"${ORT_BUILDS.wasm.mjs}"`));
  for (const file of ORT_RUNTIME_FILES) assert.ok(statSync(join(ORT_DIST, file)).size > 0, file);
  assert.equal(ORT_RUNTIME_FILES.length, 4);
  const wasmBytes = (backend: keyof typeof ORT_BUILDS) => statSync(join(ORT_DIST, ORT_BUILDS[backend].wasm)).size;
  assert.ok(wasmBytes('wasm') < 0.6 * wasmBytes('webgpu'));
});

void test('wasmPaths name both files of the backend’s build in the folder, whatever the base path', () => {
  assert.deepEqual(ortWasmPaths('https://example.org/app/ort/1.30.0/', 'wasm'), {
    mjs: 'https://example.org/app/ort/1.30.0/ort-wasm-simd-threaded.mjs',
    wasm: 'https://example.org/app/ort/1.30.0/ort-wasm-simd-threaded.wasm',
  });
  assert.deepEqual(ortWasmPaths('http://127.0.0.1:4173/ort/1.30.0/', 'webgpu'), {
    mjs: 'http://127.0.0.1:4173/ort/1.30.0/ort-wasm-simd-threaded.jsep.mjs',
    wasm: 'http://127.0.0.1:4173/ort/1.30.0/ort-wasm-simd-threaded.jsep.wasm',
  });
});

void test('the app’s ORT entry takes a build’s files from wasmPaths, and the WASM-only glue has every export it calls', () => {
  const appEntry = readFileSync(join(ORT_DIST, 'ort.min.mjs'), 'utf8');
  // `wasmPaths.mjs` and `wasmPaths.wasm` (its minified reads of them: `o?.mjs`, `o?.wasm`).
  assert.match(appEntry, /\?\.mjs\b/);
  assert.match(appEntry, /\?\.wasm\b/);
  const ortCalls = (text: string) => new Set(text.match(/\b_Ort[A-Za-z]+/g));
  const called = ortCalls(appEntry);
  assert.ok(called.size > 10, 'the entry calls ORT’s C API');
  for (const build of Object.values(ORT_BUILDS)) {
    const exported = ortCalls(readFileSync(join(ORT_DIST, build.mjs), 'utf8'));
    assert.deepEqual(
      [...called].filter((name) => !exported.has(name)),
      [],
      build.mjs,
    );
  }
});

void test('a worker keeps the build it started with; the WASM-only one cannot take a WebGPU model', () => {
  assert.equal(ortBuildFor(undefined, 'wasm'), 'wasm');
  assert.equal(ortBuildFor(undefined, 'webgpu'), 'webgpu');
  assert.equal(ortBuildFor('webgpu', 'wasm'), 'webgpu');
  assert.equal(ortBuildFor('webgpu', 'webgpu'), 'webgpu');
  assert.equal(ortBuildFor('wasm', 'wasm'), 'wasm');
  assert.equal(ortBuildFor('wasm', 'webgpu'), null);
});
