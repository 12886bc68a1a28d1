/** Errors the worker boundary adds to the pipeline's own; each message says what to do next. */
import { ExpectedError } from '../core/expected-error.ts';

export class InvalidRequestError extends ExpectedError {
  override name = 'InvalidRequestError';
}

export class WebGPUUnavailableError extends ExpectedError {
  override name = 'WebGPUUnavailableError';
  constructor(why: string) {
    super(
      `WebGPU was requested but ${why}. Use a browser with WebGPU enabled, or drop ?backend=webgpu to fall back to WASM.`,
    );
  }
}

export class ModelNotLoadedError extends ExpectedError {
  override name = 'ModelNotLoadedError';
  constructor() {
    super('The model is not loaded yet: wait for it to finish loading, then draw again.');
  }
}

export class RankerNotLoadedError extends ExpectedError {
  override name = 'RankerNotLoadedError';
  constructor() {
    super('CLIP ranking is on but the ranking model is not loaded: wait for it to load, or turn ranking off.');
  }
}

export class ModelAlreadyLoadedError extends ExpectedError {
  override name = 'ModelAlreadyLoadedError';
  constructor() {
    super('This worker already holds a different model or backend; start a new worker to switch.');
  }
}

/** The GPU device went away (driver reset, another tab, out of memory). Only a fresh worker recovers. */
export class DeviceLostError extends ExpectedError {
  override name = 'DeviceLostError';
  constructor(reason: string) {
    super(`The GPU stopped working (${reason}). The app restarts its GPU worker: try again.`);
  }
}

/** The worker died (script error, out of memory, device loss): every pending call fails with this. */
export class WorkerCrashedError extends ExpectedError {
  override name = 'WorkerCrashedError';
  constructor(
    detail: string,
    /** It died before it said anything: its script may not have loaded at all (gone after another tab's update). */
    readonly beforeFirstMessage = false,
  ) {
    super(`The generation worker stopped unexpectedly (${detail}). The app starts a new one: draw again.`);
  }
}

/** WebGPU could not allocate the decoder's KV cache for a drawing: less at once fits. */
export class GpuMemoryError extends ExpectedError {
  override name = 'GpuMemoryError';
  constructor(megabytes: number, detail: string) {
    super(
      `The GPU has no room for the next ${megabytes} MB of this drawing's memory (${detail}). Draw fewer images at once, or close other tabs or apps that use the GPU, then draw again.`,
    );
  }
}

/** Memory ran out in the worker (WASM heap, an ArrayBuffer, ONNX Runtime's allocator): only a fresh worker is sure. */
export class OutOfMemoryError extends ExpectedError {
  override name = 'OutOfMemoryError';
  constructor(detail: string) {
    super(
      `This device ran out of memory (${detail}). Draw fewer images at once or pick a smaller model, and close other tabs to free memory, then try again.`,
    );
  }
}

/**
 * What the engines and the JS engine say when an allocation fails: V8's ArrayBuffer and WebAssembly.Memory messages,
 * ONNX Runtime's allocator, and Emscripten's bare abort (a failed malloc in a build without assertions ends in
 * `Aborted()`; other aborts give their reason inside the brackets, e.g. a WASM file that could not be fetched).
 */
const OUT_OF_MEMORY =
  /out of memory|allocation failed|failed to allocate|bad_alloc|Aborted\(\)|could not allocate|Maximum memory size|Cannot allocate Wasm memory/i;

/** `error` as OutOfMemoryError where it is a failed allocation; our own (expected) errors pass unchanged. */
export function asOutOfMemory(error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof ExpectedError || !OUT_OF_MEMORY.test(error.message)) return error;
  return new OutOfMemoryError(error.message);
}
