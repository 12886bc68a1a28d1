/**
 * One measurement in a fresh process (so peak memory and allocator state belong to that run alone):
 * `node --import tsx bench/bench-child.ts '<json>'`, the JSON a ChildJob. Prints one BenchRun as JSON on its last line.
 * The `webgpu` runtime's process is started with tools/node/webgpu-preload.ts, so its `onnxruntime-web` has the
 * page's WebGPU backend.
 */
import * as ortWeb from 'onnxruntime-web';
import { loadavg } from 'node:os';
import { sessionOptionsFor } from '../src/pipeline/session-options.ts';
import { spawnNodeGemmHelper } from '../tools/node/gemm-helper.ts';
import type { SessionOptions } from '../src/pipeline/runtime.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { needsShaderF16 } from '../src/model/manifest.ts';
import { nodeBatchSizes } from '../tools/node/node-batch.ts';
import type { BenchRuntime } from './bench-args.ts';
import { measureGeneration } from './measure-generation.ts';
import type { BenchRun } from './bench-report.ts';
import { installNodeWebGpu } from '../tools/node/node-webgpu.ts';
import { foldedWeights, webgpuMeasurement } from './webgpu-options.ts';

export interface ChildJob {
  readonly model: string;
  readonly runtime: BenchRuntime;
  readonly images: number;
  readonly threads: number;
  readonly steps: number;
  readonly previews: boolean;
  /** `webgpu`: the decoder captured where the model allows it (the app's way) or step by step. */
  readonly graphCapture?: boolean;
}

const log = (line: string): void => void process.stderr.write(`  ${line}\n`);

/** onnxruntime-web's WebGPU backend on Dawn (the app's WebGPU options; the batch sized by the adapter's limits). */
async function measureWebgpu(job: ChildJob): Promise<Omit<BenchRun, 'peak_rss_mb'>> {
  const adapter = await installNodeWebGpu();
  ortWeb.env.wasm.numThreads = job.threads;
  const source = openModelFolder(job.model);
  // As the page: float16 graphs only where the adapter runs float16 shaders. Without, ONNX Runtime still loads them,
  // but not as the page would run them: an fp16 export on such an adapter ran 62 ms steps that could not be captured.
  if (needsShaderF16(source.manifest) && !adapter.shaderF16)
    throw new Error(`${job.model} computes in float16 and this adapter has no shader-f16 (${adapter.description})`);
  const limits = { memoryBytes: 2 ** 31, maxBufferBytes: adapter.maxBufferBytes };
  const choices = { gpuSampling: true, graphCapture: job.graphCapture ?? true, foldWeights: true };
  const { engineOptions, sessionOptions, batch } = webgpuMeasurement(source.manifest, limits, choices);
  const run = await measureGeneration({
    ort: ortWeb,
    source,
    sessionOptions,
    engineOptions,
    runtime: 'web-webgpu',
    threads: job.threads,
    images: job.images,
    steps: job.steps,
    previews: job.previews,
    batch,
    log,
    loadAverage: () => loadavg()[0]!,
  });
  return { ...run, ...foldedWeights(source.manifest, sessionOptions, run), adapter: adapter.description };
}

async function measureCpu(job: ChildJob): Promise<Omit<BenchRun, 'peak_rss_mb'>> {
  const source = openModelFolder(job.model);
  const web = job.runtime !== 'node';
  // Imported here: the webgpu runtime's machine may not have onnxruntime-node's native binary.
  const ortNode = web ? undefined : await import('onnxruntime-node');
  if (web) ortWeb.env.wasm.numThreads = job.threads;
  const native: SessionOptions = { intraOpNumThreads: job.threads, interOpNumThreads: 1 };
  return measureGeneration({
    ort: ortNode ?? ortWeb,
    source,
    sessionOptions: web
      ? sessionOptionsFor('wasm', source.manifest, {
          ownKernels: job.runtime === 'web-ort' ? false : { threads: job.threads, spawnHelper: spawnNodeGemmHelper },
        })
      : () => native,
    runtime: web ? 'web-wasm' : 'node',
    threads: job.threads,
    images: job.images,
    steps: job.steps,
    previews: job.previews,
    batch: nodeBatchSizes(source.manifest, web),
    log,
    loadAverage: () => loadavg()[0]!,
  });
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as ChildJob;
  const run = job.runtime === 'webgpu' ? await measureWebgpu(job) : await measureCpu(job);
  const peak = process.resourceUsage().maxRSS / 1024;
  const measured = { ...run, peak_rss_mb: Math.round(peak) };
  process.stdout.write(`${JSON.stringify(measured)}\n`);
  // onnxruntime-web's thread pool keeps Node alive.
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
