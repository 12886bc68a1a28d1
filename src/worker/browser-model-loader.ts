/**
 * Loads a model in the browser worker: manifest → backend choice → onnxruntime-web setup (that backend's build)
 * → files into the model store (downloaded and sha256-checked once, then read from IndexedDB) → one session per
 * graph, created one after another.
 */
import * as ort from 'onnxruntime-web';
import { GRAPH_NAMES } from '../model/graph-io.ts';
import { needsShaderF16 } from '../model/manifest.ts';
import type { ModelSource } from '../model/model-source.ts';
import { chooseBatchSizes } from '../pipeline/batch-size.ts';
import type { DeviceLimits } from '../pipeline/batch-size.ts';
import { loadDalle } from '../pipeline/load-dalle.ts';
import { ownGemmKernel } from '../pipeline/own-session.ts';
import { ortBuildFor, ortWasmPaths } from '../pipeline/ort-build.ts';
import { foldsDecoderOnWebgpu, ownKernelsOnWasm, sessionOptionsFor } from '../pipeline/session-options.ts';
import type { BackendName } from '../pipeline/session-options.ts';
import { spawnBrowserGemmHelper } from './gemm-helpers.ts';
import { chooseBackend, navigatorGpu, wasmThreads } from './backend.ts';
import type { BackendChoice } from './backend.ts';
import type { LoadedModel, ModelLoader } from './handler.ts';
import { ModelAlreadyLoadedError } from './errors.ts';
import type { ModelLibrary } from './model-library.ts';
import { MAX_IMAGES } from './protocol.ts';
import type { LoadProgress } from './protocol.ts';
import { webgpuEngineOptions } from './gpu-device.ts';
import { explainedByDeviceLoss } from './device-loss.ts';

/** RAM in GiB as the browser reports it (`navigator.deviceMemory`, capped at 8); 4 where it does not. */
function deviceMemoryGiB(): number {
  const nav: object = globalThis.navigator;
  return 'deviceMemory' in nav && typeof nav.deviceMemory === 'number' ? nav.deviceMemory : 4;
}

/**
 * Memory we let one run use. Browsers do not tell how much GPU memory there is; `deviceMemory`
 * is the best hint, and a quarter of it leaves room for the weights.
 */
function deviceLimits(choice: BackendChoice): DeviceLimits {
  const memoryBytes = (deviceMemoryGiB() * 2 ** 30) / 4;
  // WASM: every tensor lives in one 4 GiB heap.
  return { memoryBytes, maxBufferBytes: choice.maxBufferBytes ?? 2 ** 31 };
}

/** Reports a graph as compiling once all its files have arrived (createSession reads them, then compiles). */
function withCompileProgress(source: ModelSource, onProgress: (p: LoadProgress) => void): ModelSource {
  // A graph is read from `file` or one of its variants (the decoder's `hostCacheFile`, `wasmHostCacheFile`,
  // `captureFile` or `weightInputsFile`, the VQGAN's `wasmFile` on WASM): any stands for the graph.
  const GRAPH_FILE = '';
  const waiting = new Map(
    GRAPH_NAMES.map((graph) => [graph, new Set([GRAPH_FILE, ...source.manifest.graphs[graph].externalData])]),
  );
  return {
    manifest: source.manifest,
    async readFile(path) {
      const bytes = await source.readFile(path);
      for (const [graph, files] of waiting) {
        const entry = source.manifest.graphs[graph];
        const { file, hostCacheFile, wasmFile, wasmHostCacheFile, captureFile, weightInputsFile } = entry;
        const variants = [file, hostCacheFile, wasmFile, wasmHostCacheFile, captureFile, weightInputsFile];
        const read = variants.includes(path) ? GRAPH_FILE : path;
        if (files.delete(read) && files.size === 0) onProgress({ stage: 'compile', graph });
      }
      return bytes;
    },
  };
}

/** Why the GPUDevice ORT created was lost, once it is (never settles while it lives). */
async function watchDeviceLoss(): Promise<string> {
  const info = await (await ort.env.webgpu.device).lost;
  return info.message || info.reason || 'device lost';
}

/**
 * The ORT build this worker handed ORT before its first session, once a load got that far
 * (docs/performance.md#onnx-runtimes-wasm-only-build-on-the-wasm-backend).
 */
let ortBuild: BackendName | undefined;

export function browserModelLoader(library: ModelLibrary): ModelLoader {
  return async (params, onProgress, signal): Promise<LoadedModel> => {
    const latest = await library.manifest(params.modelUrl);
    const picked = await chooseBackend(navigatorGpu(), params.backend, needsShaderF16(latest));

    const wasm = wasmThreads(globalThis.crossOriginIsolated, globalThis.navigator.hardwareConcurrency);
    ort.env.wasm.numThreads = wasm.threads;
    const choice = picked.backend === 'wasm' ? { ...picked, reason: `${picked.reason} · ${wasm.note}` } : picked;
    // Our worker already keeps the page responsive; ORT's own proxy worker cannot hold GPU buffers.
    ort.env.wasm.proxy = false;

    // Downloads only after the backend is settled: a model this browser cannot run costs no bandwidth.
    const opened = await library.open(params.modelUrl, latest, {
      signal,
      onProgress: (p) => onProgress({ stage: 'download', ...p }),
      // Each file is read once here: in memory mode the store gives each up as the sessions take it.
      handOverFiles: true,
    });
    // The version that loads: `latest`, or offline the whole one stored before an unfinished update (same dtype).
    const { manifest } = opened.source;
    const fits = chooseBatchSizes(manifest, deviceLimits(choice), choice.backend);
    // A captured decoder runs batches up to the size it was captured for (smaller ones padded): a full grid's, the
    // most one drawing asks for, when it fits. Its batches stay within it, so it is never made again.
    const capturedImages = Math.min(fits.decoder, MAX_IMAGES);
    let dalle: Awaited<ReturnType<typeof loadDalle>> | undefined;
    try {
      // Only now, as the first session may start ORT: a load that failed before leaves the worker free to choose.
      const build = ortBuildFor(ortBuild, choice.backend);
      if (build === null) throw new ModelAlreadyLoadedError();
      ortBuild = build;
      ort.env.wasm.wasmPaths = ortWasmPaths(params.wasmPaths, build);
      dalle = await loadDalle(
        ort,
        withCompileProgress(opened.source, onProgress),
        sessionOptionsFor(choice.backend, manifest, {
          foldDecoder: foldsDecoderOnWebgpu(manifest, deviceMemoryGiB()),
          ownKernels: ownKernelsOnWasm(wasm.kernelThreads, spawnBrowserGemmHelper),
        }),
        choice.backend === 'webgpu' ? webgpuEngineOptions({ capturedImages }) : { hostCacheGraph: true },
      );
    } catch (error) {
      // A GPU lost while the sessions were made: the page needs a fresh worker (and says why), not ORT's words.
      throw choice.backend === 'webgpu' ? await explainedByDeviceLoss(error, watchDeviceLoss()) : error;
    } finally {
      await opened.close({ loaded: dalle !== undefined });
    }
    const batch = dalle.engine.decoderCaptured ? { ...fits, decoder: capturedImages } : fits;
    // Our kernels measured relaxed SIMD faster here and run it (docs/performance.md#relaxed-simd): the status says so.
    const relaxed = ownGemmKernel(dalle.engine.sessions.decoder)?.kernel === 'relaxed';
    const backend = relaxed ? { ...choice, reason: `${choice.reason} · relaxed SIMD` } : choice;
    const loaded: LoadedModel = { ...dalle, backend, batch };
    return choice.backend === 'webgpu' ? { ...loaded, deviceLost: watchDeviceLoss() } : loaded;
  };
}
