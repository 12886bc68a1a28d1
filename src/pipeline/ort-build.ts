/**
 * Which of onnxruntime-web's WebAssembly builds a backend loads. The JSEP build carries the WebGPU EP
 * as well as the WASM one and is twice the size; on the WASM backend the WASM-only build does the same
 * work and is ready much sooner (docs/performance.md#onnx-runtimes-wasm-only-build-on-the-wasm-backend).
 * The site serves both from one folder per ORT version (vite.config.ts), and the service worker keeps
 * both, so either backend works offline.
 */
import type { BackendName } from './session-options.ts';

export interface OrtBuildFiles {
  /** Emscripten's glue, imported by ORT at its first session. */
  readonly mjs: string;
  readonly wasm: string;
}

export const ORT_BUILDS: Readonly<Record<BackendName, OrtBuildFiles>> = {
  webgpu: { mjs: 'ort-wasm-simd-threaded.jsep.mjs', wasm: 'ort-wasm-simd-threaded.jsep.wasm' },
  wasm: { mjs: 'ort-wasm-simd-threaded.mjs', wasm: 'ort-wasm-simd-threaded.wasm' },
};

/** Every file the site serves under its ORT folder. */
export const ORT_RUNTIME_FILES: readonly string[] = Object.values(ORT_BUILDS).flatMap(({ mjs, wasm }) => [mjs, wasm]);

/** `ort.env.wasm.wasmPaths` for `backend`'s build, from the folder (ending in `/`) that serves them. */
export function ortWasmPaths(folderUrl: string, backend: BackendName): OrtBuildFiles {
  const { mjs, wasm } = ORT_BUILDS[backend];
  return { mjs: new URL(mjs, folderUrl).href, wasm: new URL(wasm, folderUrl).href };
}

/**
 * The build a worker loads for `backend`, given the one it started with, if any (ORT loads one build per worker, at
 * its first session): the JSEP build runs either backend; the WASM-only one cannot run WebGPU sessions, so then
 * `null` (the page starts a fresh worker to switch backends).
 */
export function ortBuildFor(started: BackendName | undefined, backend: BackendName): BackendName | null {
  if (started === undefined) return backend;
  return started === 'wasm' && backend === 'webgpu' ? null : started;
}
