/**
 * Bundled into a blank page by e2e/gpu-candidates.spec.ts: runs the app's sampling shader on logits the test
 * passes (as float32 bits) on this browser's WebGPU device, and returns the blocks it wrote.
 */
import { candidatesPipeline, selectCandidates } from '../src/worker/gpu-candidates.ts';
import type { CandidateLayout } from '../src/pipeline/device-candidates.ts';

async function runCandidates(bits: number[], layout: CandidateLayout): Promise<number[]> {
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter');
  const device = await adapter.requestDevice();
  try {
    const logits = device.createBuffer({
      size: bits.length * 4,
      usage: GPUBufferUsage.STORAGE,
      mappedAtCreation: true,
    });
    new Uint32Array(logits.getMappedRange()).set(bits);
    logits.unmap();
    return Array.from(await selectCandidates(device, await candidatesPipeline(device), logits, layout));
  } finally {
    device.destroy();
  }
}

declare global {
  interface Window {
    runCandidates?: typeof runCandidates;
  }
}
window.runCandidates = runCandidates;
