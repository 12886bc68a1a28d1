/**
 * Bundled into a blank page by e2e/gpu-shaders.spec.ts: runs the app's own WebGPU shaders on data the test passes
 * (as 32-bit words) on this browser's device, and returns what they wrote.
 */
import { candidatesPipeline, selectCandidates } from '../src/worker/gpu-candidates.ts';
import { cacheSlotWriterOn } from '../src/worker/gpu-cache-slots.ts';
import type { CandidateLayout } from '../src/pipeline/device-candidates.ts';
import type { CacheSlotWrite } from '../src/pipeline/decoder-run.ts';

async function withDevice<T>(work: (device: GPUDevice) => Promise<T>): Promise<T> {
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter');
  const device = await adapter.requestDevice();
  try {
    return await work(device);
  } finally {
    device.destroy();
  }
}

function buffer(device: GPUDevice, words: readonly number[]): GPUBuffer {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC;
  const made = device.createBuffer({ size: words.length * 4, usage, mappedAtCreation: true });
  new Uint32Array(made.getMappedRange()).set(words);
  made.unmap();
  return made;
}

async function read(device: GPUDevice, source: GPUBuffer): Promise<number[]> {
  const readback = device.createBuffer({ size: source.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(source, 0, readback, 0, source.size);
  device.queue.submit([encoder.finish()]);
  await readback.mapAsync(GPUMapMode.READ);
  return Array.from(new Uint32Array(readback.getMappedRange()));
}

async function runCandidates(bits: number[], layout: CandidateLayout): Promise<number[]> {
  return withDevice(async (device) =>
    Array.from(await selectCandidates(device, await candidatesPipeline(device), buffer(device, bits), layout)),
  );
}

/** One layer's slot write at `position` into caches of `dims` [B, H, hd, S]; returns the caches' words after it. */
async function runSlotWrite(
  type: 'float32' | 'float16',
  dims: [number, number, number, number],
  position: number,
  words: { newKey: number[]; newValue: number[]; pastKey: number[]; pastValue: number[] },
): Promise<{ pastKey: number[]; pastValue: number[] }> {
  return withDevice(async (device) => {
    const tensor = (data: number[]) =>
      ({ location: 'gpu-buffer', gpuBuffer: buffer(device, data), dims, type }) as unknown as CacheSlotWrite['newKey'];
    const write = {
      newKey: tensor(words.newKey),
      newValue: tensor(words.newValue),
      pastKey: tensor(words.pastKey),
      pastValue: tensor(words.pastValue),
    };
    await cacheSlotWriterOn(device)([write], position);
    return {
      pastKey: await read(device, write.pastKey.gpuBuffer),
      pastValue: await read(device, write.pastValue.gpuBuffer),
    };
  });
}

declare global {
  interface Window {
    runCandidates?: typeof runCandidates;
    runSlotWrite?: typeof runSlotWrite;
  }
}
window.runCandidates = runCandidates;
window.runSlotWrite = runSlotWrite;
