/**
 * One measurement in Chromium, in a module worker like the app's: onnxruntime-web (WASM or WebGPU) with the app's
 * session options, the model fetched over HTTP and checked like the app's, and the same measureGeneration as
 * `npm run bench`.
 */
import * as ort from 'onnxruntime-web';
import { chooseBatchSizes } from '../../src/pipeline/batch-size.ts';
import { capturesDecoder } from '../../src/pipeline/engine.ts';
import { MAX_IMAGES } from '../../src/worker/protocol.ts';
import { foldsWeights, sessionOptionsFor } from '../../src/pipeline/session-options.ts';
import { spawnBrowserGemmHelper } from '../../src/worker/gemm-helpers.ts';
import { fetchManifest, httpModelSource } from '../../src/worker/http-model-source.ts';
import { asDalleManifest } from '../../src/model/stored-manifest.ts';
import type { BenchRun } from '../bench-report.ts';
import { measureGeneration } from '../measure-generation.ts';
import { webgpuEngineOptions } from '../../src/worker/gpu-device.ts';
import { watchWasmHeap } from './wasm-heap.ts';

declare const __ORT_PATH__: string;

const wasmHeapMb = watchWasmHeap();

export interface BrowserJob {
  readonly modelUrl: string;
  readonly backend: 'wasm' | 'webgpu';
  readonly images: number;
  readonly steps: number;
  readonly threads: number;
  /** WebGPU: sample from the shader's candidates (the app's way) or from the whole logits read back. */
  readonly gpuSampling: boolean;
  /** WebGPU: run the decoder as a captured graph where the model allows it (the app's way) or step by step. */
  readonly graphCapture: boolean;
  /**
   * WebGPU, q8: dequantize the decoder's weights once at load where they fit (the app's way: by the folder's
   * dequantization graph, or folded by ONNX Runtime on devices with 8 GiB of memory) or at every step.
   */
  readonly foldWeights: boolean;
}

export type WorkerReply = { readonly run: Omit<BenchRun, 'peak_rss_mb'> } | { readonly error: string };

async function measure(job: BrowserJob): Promise<WorkerReply> {
  ort.env.wasm.wasmPaths = new URL(`/${__ORT_PATH__}`, location.origin).href;
  ort.env.wasm.numThreads = job.threads;
  ort.env.wasm.proxy = false;
  const manifest = asDalleManifest(await fetchManifest(job.modelUrl), job.modelUrl);
  const source = httpModelSource(job.modelUrl, manifest);
  // The worker's WASM budget; on WebGPU a conservative 128 MiB per buffer (the page asks the adapter).
  const limits = { memoryBytes: 2 ** 31, maxBufferBytes: job.backend === 'webgpu' ? 2 ** 27 : 2 ** 31 };
  const fits = chooseBatchSizes(manifest, limits, job.backend);
  // As the app: the decoder captured for a full grid's batch (when it fits), smaller batches padded onto it.
  const capturedImages = Math.min(fits.decoder, MAX_IMAGES);
  const q8 = job.backend === 'webgpu' && manifest.dtype === 'q8';
  const engineOptions =
    job.backend === 'webgpu'
      ? webgpuEngineOptions({
          gpuSampling: job.gpuSampling,
          graphCapture: job.graphCapture,
          capturedImages,
        })
      : { hostCacheGraph: true };
  const sessionOptions = sessionOptionsFor(job.backend, manifest, {
    foldDecoder: job.foldWeights,
    ownKernels: { threads: job.threads, spawnHelper: spawnBrowserGemmHelper },
  });
  const captures = capturesDecoder(engineOptions, manifest, sessionOptions('decoder'));
  const batch = captures ? { ...fits, decoder: capturedImages } : fits;
  const run = await measureGeneration({
    ort,
    source,
    sessionOptions,
    engineOptions,
    runtime: job.backend === 'webgpu' ? 'web-webgpu' : 'web-wasm',
    threads: job.backend === 'webgpu' ? 0 : job.threads,
    images: job.images,
    steps: job.steps,
    batch,
    log: (line) => postMessage({ log: line }),
  });
  // As the app, an unfolded q8 decoder runs uncaptured (capturesDecoder). Where dequantizing once failed at load, the
  // decoder fell back to its host-cache file, dequantizing every step.
  const decoderOptions = sessionOptions('decoder');
  const fellBack =
    decoderOptions.dequantizeOnce === true && run.decoder_file !== manifest.graphs.decoder.weightInputsFile;
  const measured = { ...run, wasm_heap_mb: wasmHeapMb() };
  return { run: q8 ? { ...measured, folded_weights: foldsWeights(decoderOptions) && !fellBack } : measured };
}

onmessage = (event: MessageEvent<BrowserJob>) => {
  measure(event.data).then(
    (reply) => postMessage(reply),
    (error: unknown) => postMessage({ error: (error as Error).stack ?? String(error) }),
  );
};
