/**
 * One measurement in Chromium, in a module worker like the app's: onnxruntime-web (WASM or WebGPU) with the app's
 * session options, the model fetched over HTTP and checked like the app's, and the same measureGeneration as
 * `npm run bench`.
 */
import * as ort from 'onnxruntime-web';
import { chooseBatchSizes } from '../../src/pipeline/batch-size.ts';
import { MAX_IMAGES } from '../../src/worker/protocol.ts';
import { sessionOptionsFor } from '../../src/pipeline/session-options.ts';
import { fetchManifest, httpModelSource } from '../../src/worker/http-model-source.ts';
import { asDalleManifest } from '../../src/model/stored-manifest.ts';
import type { BenchRun } from '../bench-report.ts';
import { measureGeneration } from '../measure-generation.ts';
import { webgpuEngineOptions } from '../../src/worker/gpu-device.ts';

declare const __ORT_PATH__: string;

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
  const captures = job.backend === 'webgpu' && job.graphCapture && manifest.graphs.decoder.graphCapture === true;
  const batch = captures ? { ...fits, decoder: capturedImages } : fits;
  const run = await measureGeneration({
    ort,
    source,
    sessionOptions: sessionOptionsFor(job.backend, manifest),
    engineOptions:
      job.backend === 'webgpu'
        ? webgpuEngineOptions({
            gpuSampling: job.gpuSampling,
            graphCapture: job.graphCapture,
            capturedImages,
          })
        : { hostCacheGraph: true },
    runtime: job.backend === 'webgpu' ? 'web-webgpu' : 'web-wasm',
    threads: job.backend === 'webgpu' ? 0 : job.threads,
    images: job.images,
    steps: job.steps,
    batch,
    log: (line) => postMessage({ log: line }),
  });
  return { run };
}

onmessage = (event: MessageEvent<BrowserJob>) => {
  measure(event.data).then(
    (reply) => postMessage(reply),
    (error: unknown) => postMessage({ error: (error as Error).stack ?? String(error) }),
  );
};
