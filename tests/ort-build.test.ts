/** Which onnxruntime-web build each backend loads (src/pipeline/ort-build.ts), against the installed package. */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { ORT_BUILDS, ORT_RUNTIME_FILES, ortWasmPaths } from '../src/pipeline/ort-build.ts';

const ORT_DIST = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));

void test('each backend’s build is the one ORT’s own entry for it loads, and the WASM-only one is the smaller', () => {
  // The app's entry (vite.config.ts: `onnxruntime-web-use-extern-wasm`) carries both EPs and names the JSEP glue;
  // `onnxruntime-web/wasm` names the WASM-only glue. An ORT release that renames them fails here, not in a browser.
  assert.match(readFileSync(join(ORT_DIST, 'ort.min.mjs'), 'utf8'), new RegExp(`"${ORT_BUILDS.webgpu.mjs}"`));
  assert.match(readFileSync(join(ORT_DIST, 'ort.wasm.min.mjs'), 'utf8'), new RegExp(`"${ORT_BUILDS.wasm.mjs}"`));
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
