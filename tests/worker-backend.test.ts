/** Backend choice in the worker, against fake `navigator.gpu` objects. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseBackend, wasmThreads } from '../src/worker/backend.ts';
import type { GpuAdapterLike, GpuLike } from '../src/worker/backend.ts';
import { WebGPUUnavailableError } from '../src/worker/errors.ts';

function gpu(adapter: GpuAdapterLike | null): GpuLike {
  return { requestAdapter: () => Promise.resolve(adapter) };
}

const hardware: GpuAdapterLike = { features: new Set(['shader-f16']), info: { vendor: 'nvidia', architecture: 'ada' } };
const noF16: GpuAdapterLike = { features: new Set<string>(), info: { vendor: 'intel', architecture: 'gen-9' } };
const software: GpuAdapterLike = {
  features: new Set<string>(),
  info: { vendor: 'google', architecture: 'swiftshader', isFallbackAdapter: true },
};

void test('a hardware adapter gives WebGPU, and the reason names it', async () => {
  assert.deepEqual(await chooseBackend(gpu(hardware), undefined, true), {
    backend: 'webgpu',
    reason: 'adapter nvidia ada',
  });
});

void test('no WebGPU, no adapter, or a failing probe falls back to WASM and says why', async () => {
  assert.deepEqual(await chooseBackend(undefined, undefined, false), {
    backend: 'wasm',
    reason: 'this browser has no WebGPU (navigator.gpu is missing)',
  });
  assert.deepEqual(await chooseBackend(gpu(null), undefined, false), {
    backend: 'wasm',
    reason: 'the browser found no WebGPU adapter',
  });
  const failing: GpuLike = { requestAdapter: () => Promise.reject(new Error('GPU process crashed')) };
  assert.match((await chooseBackend(failing, undefined, false)).reason, /GPU process crashed/);
});

void test('fp16 models need shader-f16; a software adapter loses to WASM unless WebGPU is forced', async () => {
  assert.deepEqual(await chooseBackend(gpu(noF16), undefined, true), {
    backend: 'wasm',
    reason: 'the adapter intel gen-9 lacks shader-f16, which this fp16 model needs',
  });
  assert.equal((await chooseBackend(gpu(noF16), undefined, false)).backend, 'webgpu');
  assert.match((await chooseBackend(gpu(software), undefined, false)).reason, /software fallback/);
  assert.deepEqual(await chooseBackend(gpu(software), 'webgpu', false), {
    backend: 'webgpu',
    reason: 'forced by ?backend=webgpu, adapter google swiftshader',
  });
});

void test('forcing a backend: WASM always works, WebGPU without a usable adapter is an error', async () => {
  assert.deepEqual(await chooseBackend(gpu(hardware), 'wasm', false), {
    backend: 'wasm',
    reason: 'forced by ?backend=wasm',
  });
  await assert.rejects(chooseBackend(gpu(null), 'webgpu', false), WebGPUUnavailableError);
  await assert.rejects(chooseBackend(gpu(noF16), 'webgpu', true), /lacks shader-f16/);
});

void test('WASM uses all cores but one when cross-origin isolated (our kernels both of two), else one thread', () => {
  assert.deepEqual(wasmThreads(true, 8), { threads: 7, kernelThreads: 7, note: '7 threads' });
  assert.deepEqual(wasmThreads(true, 2), { threads: 1, kernelThreads: 2, note: '1 thread, our kernels 2' });
  assert.deepEqual(wasmThreads(true, 3), { threads: 2, kernelThreads: 2, note: '2 threads' });
  assert.deepEqual(wasmThreads(true, 1), { threads: 1, kernelThreads: 1, note: '1 thread' });
  assert.equal(wasmThreads(true, 64).threads, 8);
  assert.equal(wasmThreads(true, 64).kernelThreads, 8);
  assert.deepEqual(wasmThreads(false, 8), {
    threads: 1,
    kernelThreads: 1,
    note: '1 thread (the page is not cross-origin isolated)',
  });
});
