/**
 * WebGPU cache buffers (src/worker/gpu-cache-tensors.ts) against a stand-in device: sizes and dims as the engine asks,
 * and a GPU without room gives a clear GpuMemoryError, the failed buffer destroyed and both error scopes popped.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GpuMemoryError } from '../src/worker/errors.ts';
import { cacheTensorsOn } from '../src/worker/gpu-cache-tensors.ts';
import type { BufferDevice } from '../src/worker/gpu-cache-tensors.ts';

function fakeDevice(error: { message: string } | null) {
  const log = { sizes: [] as number[], destroyed: 0, scopes: 0 };
  const device: BufferDevice = {
    createBuffer: ({ size }) => {
      log.sizes.push(size);
      return { destroy: () => void log.destroyed++ };
    },
    pushErrorScope: () => void log.scopes++,
    popErrorScope: () => {
      log.scopes--;
      // The inner scope (out-of-memory) pops first.
      return Promise.resolve(log.scopes === 1 ? error : null);
    },
  };
  return { device, log };
}

void test('a cache tensor is a new GPU buffer of its size, destroyed when the tensor is disposed', async () => {
  const { device, log } = fakeDevice(null);
  const tensor = await cacheTensorsOn(device)('float32', [2, 4, 8, 3]);
  assert.deepEqual(tensor.dims, [2, 4, 8, 3]);
  assert.equal(tensor.location, 'gpu-buffer');
  assert.deepEqual(log.sizes, [2 * 4 * 8 * 3 * 4]);
  assert.equal(log.scopes, 0);
  tensor.dispose();
  assert.equal(log.destroyed, 1);
  const half = await cacheTensorsOn(device)('float16', [1, 1, 1, 3]);
  assert.equal(log.sizes[1], 8, 'float16: 6 bytes rounded up to a multiple of 4');
  half.dispose();
});

void test('a GPU without room for the cache gives GpuMemoryError, nothing left allocated', async () => {
  const { device, log } = fakeDevice({ message: 'Out of memory' });
  await assert.rejects(cacheTensorsOn(device)('float32', [18, 16, 64, 256]), (error: Error) => {
    assert.ok(error instanceof GpuMemoryError);
    assert.match(error.message, /no room for the next 18 MB .*\(Out of memory\)\. Draw fewer images at once/);
    return true;
  });
  assert.equal(log.destroyed, 1);
  assert.equal(log.scopes, 0, 'both error scopes popped');
});
