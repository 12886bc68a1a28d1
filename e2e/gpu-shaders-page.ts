/**
 * Bundled into a blank page by e2e/gpu-shaders.spec.ts: runs the app's own WebGPU shaders on data the test passes
 * (as 32-bit words) on this browser's device, and returns what they wrote; and decodes with the app's captured
 * decoder on WebGPU beside WASM.
 */
import * as ort from 'onnxruntime-web';
import { asDalleManifest } from '../src/model/stored-manifest.ts';
import { withoutDequantizeGraph } from '../tests/helpers/manifests.ts';
import { loadDalle } from '../src/pipeline/load-dalle.ts';
import { sessionOptionsFor } from '../src/pipeline/session-options.ts';
import { webgpuEngineOptions } from '../src/worker/gpu-device.ts';
import { fetchManifest, httpModelSource } from '../src/worker/http-model-source.ts';
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

/** One decoding of the comparison: `images` images of `prompt` for `steps` steps. */
export interface CapturePlan {
  readonly prompt: string;
  readonly images: number;
  readonly steps: number;
}

/**
 * Decodes each plan with the model at `modelUrl` on WebGPU as the app loads it (the decoder captured for
 * `capturedImages` images) and on WASM (the full decoder graph), feeding both the same tokens; returns whether the
 * decoder was captured and, per plan, the largest difference between their logits.
 */
async function compareCaptured(
  wasmPaths: string,
  modelUrl: string,
  capturedImages: number,
  plans: readonly CapturePlan[],
): Promise<{ captured: boolean; decoderFile: string; worst: number[] }> {
  ort.env.wasm.wasmPaths = wasmPaths;
  ort.env.wasm.numThreads = 1;
  const manifest = asDalleManifest(await fetchManifest(modelUrl), modelUrl);
  const source = httpModelSource(modelUrl, manifest);
  const gpu = await loadDalle(
    ort,
    source,
    // As the app: a q8 decoder's weights dequantized once at load (its folder's graph), so it is captured too.
    sessionOptionsFor('webgpu', manifest, { foldDecoder: true }),
    webgpuEngineOptions({ capturedImages }),
  );
  // decoder.onnx with float activations (a q8 host cache on WASM would multiply in int8: other logits).
  const cpu = await loadDalle(ort, source, sessionOptionsFor('wasm', manifest));
  const worst: number[] = [];
  try {
    for (const { prompt, images, steps } of plans) {
      const encoded = gpu.text.encode(prompt, 1);
      const runs = [
        await gpu.engine.beginDecoding(encoded, gpu.text.unconditional, images),
        await cpu.engine.beginDecoding(encoded, cpu.text.unconditional, images),
      ];
      let largest = 0;
      for (let step = 0; step < steps; step++) {
        const previous = Array.from({ length: images }, (_, i) =>
          step === 0 ? manifest.specialTokens.imageStart : (step * 31 + i * 7) % manifest.specialTokens.imageCodes,
        );
        const [a, b] = [await runs[0]!.step(previous), await runs[1]!.step(previous)];
        for (let i = 0; i < a.length; i++) largest = Math.max(largest, Math.abs(a[i]! - b[i]!));
      }
      for (const run of runs) run.dispose();
      worst.push(largest);
    }
    return { captured: gpu.engine.decoderCaptured, decoderFile: gpu.decoderFile, worst };
  } finally {
    await gpu.dispose();
    await cpu.dispose();
  }
}

/**
 * How a q8 decoder's weights reach its MatMuls: `dequantize-once` by the folder's dequantization graph at load,
 * `ort-fold` folded by ONNX Runtime at load (as for a folder without that graph), `every-step` dequantized per step.
 */
type Q8Weights = 'dequantize-once' | 'ort-fold' | 'every-step';

/**
 * The kernel types one decoder step runs on WebGPU (JSEP's debug log names each kernel it dispatches; uncaptured, so
 * that every step dispatches them), and the decoder file loaded: whether the weights are dequantized at every step.
 */
async function decoderStepKernels(
  wasmPaths: string,
  modelUrl: string,
  weights: Q8Weights,
): Promise<{ kernels: string[]; decoderFile: string }> {
  ort.env.wasm.wasmPaths = wasmPaths;
  ort.env.wasm.numThreads = 1;
  // Read when the WebGPU backend starts, which is at the first session.
  ort.env.debug = true;
  ort.env.logLevel = 'info';
  const exported = asDalleManifest(await fetchManifest(modelUrl), modelUrl);
  const manifest = weights === 'ort-fold' ? withoutDequantizeGraph(exported) : exported;
  const options = webgpuEngineOptions({ graphCapture: false });
  const gpu = await loadDalle(
    ort,
    httpModelSource(modelUrl, manifest),
    sessionOptionsFor('webgpu', manifest, { foldDecoder: weights !== 'every-step' }),
    options,
  );
  const kernels = new Set<string>();
  const log = console.log;
  try {
    const run = await gpu.engine.beginDecoding(gpu.text.encode('a red circle', 1), gpu.text.unconditional, 1);
    console.log = (message: unknown) => {
      const kernel = /Start to run kernel "\[(\w+)\]/.exec(String(message));
      if (kernel) kernels.add(kernel[1]!);
    };
    await run.step([manifest.specialTokens.imageStart]);
    run.dispose();
  } finally {
    console.log = log;
    await gpu.dispose();
  }
  return { kernels: [...kernels].sort(), decoderFile: gpu.decoderFile };
}

declare global {
  interface Window {
    decoderStepKernels?: typeof decoderStepKernels;
    runCandidates?: typeof runCandidates;
    runSlotWrite?: typeof runSlotWrite;
    compareCaptured?: typeof compareCaptured;
  }
}
window.runCandidates = runCandidates;
window.runSlotWrite = runSlotWrite;
window.compareCaptured = compareCaptured;
window.decoderStepKernels = decoderStepKernels;
