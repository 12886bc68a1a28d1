/**
 * One measurement in Chromium, in a module worker like the app's: onnxruntime-web (WASM or WebGPU) with the app's
 * session options, the model fetched over HTTP and checked like the app's, and the same measureGeneration as
 * `npm run bench`.
 */
import * as ort from 'onnxruntime-web';
import type { GemmKernelRequest } from '../../src/kernels/gemm-kernel-choice.ts';
import { chooseBatchSizes } from '../../src/pipeline/batch-size.ts';
import { ortWasmPaths } from '../../src/pipeline/ort-build.ts';
import { sessionOptionsFor } from '../../src/pipeline/session-options.ts';
import { spawnBrowserGemmHelper } from '../../src/worker/gemm-helpers.ts';
import { fetchManifest, httpModelSource } from '../../src/worker/http-model-source.ts';
import { asDalleManifest } from '../../src/model/stored-manifest.ts';
import type { BenchRun } from '../bench-report.ts';
import { measureGeneration } from '../measure-generation.ts';
import { foldedWeights, webgpuMeasurement } from '../webgpu-options.ts';
import type { WebgpuChoices } from '../webgpu-options.ts';
import { watchWasmMemories } from './wasm-memories.ts';

declare const __ORT_PATH__: string;

const wasmMemories = watchWasmMemories();

/** The WebGPU choices apply to the WebGPU backend only. */
export interface BrowserJob extends WebgpuChoices {
  readonly modelUrl: string;
  readonly backend: 'wasm' | 'webgpu';
  readonly images: number;
  readonly steps: number;
  readonly threads: number;
  /** WASM: our kernels' GEMM kernel (`bench:browser --gemm-kernel`). */
  readonly gemmKernel: GemmKernelRequest;
}

export type WorkerReply = { readonly run: Omit<BenchRun, 'peak_rss_mb'> } | { readonly error: string };

async function measure(job: BrowserJob): Promise<WorkerReply> {
  ort.env.wasm.wasmPaths = ortWasmPaths(new URL(`/${__ORT_PATH__}`, location.origin).href, job.backend);
  ort.env.wasm.numThreads = job.threads;
  ort.env.wasm.proxy = false;
  const manifest = asDalleManifest(await fetchManifest(job.modelUrl), job.modelUrl);
  const source = httpModelSource(job.modelUrl, manifest);
  // The worker's WASM budget; on WebGPU a conservative 128 MiB per buffer (the page asks the adapter).
  const limits = { memoryBytes: 2 ** 31, maxBufferBytes: job.backend === 'webgpu' ? 2 ** 27 : 2 ** 31 };
  const { engineOptions, sessionOptions, batch } =
    job.backend === 'webgpu'
      ? webgpuMeasurement(manifest, limits, job)
      : {
          engineOptions: { hostCacheGraph: true },
          sessionOptions: sessionOptionsFor('wasm', manifest, {
            ownKernels: { threads: job.threads, spawnHelper: spawnBrowserGemmHelper, kernel: job.gemmKernel },
          }),
          batch: chooseBatchSizes(manifest, limits, 'wasm'),
        };
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
  const { ortMb, ownKernelsMb } = wasmMemories();
  const measured = {
    ...run,
    wasm_heap_mb: ortMb,
    own_kernels_memory_mb: ownKernelsMb,
    ...(job.backend === 'wasm' ? { gemm_kernel_request: job.gemmKernel } : {}),
  };
  return {
    run: job.backend === 'webgpu' ? { ...measured, ...foldedWeights(manifest, sessionOptions, run) } : measured,
  };
}

onmessage = (event: MessageEvent<BrowserJob>) => {
  measure(event.data).then(
    (reply) => postMessage(reply),
    (error: unknown) => postMessage({ error: (error as Error).stack ?? String(error) }),
  );
};
