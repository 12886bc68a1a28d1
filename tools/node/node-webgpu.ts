/**
 * WebGPU in Node through Dawn's bindings, the optional `webgpu` package (not installed by `npm ci`: a 51 MB download
 * for one benchmark; `npm install --no-save webgpu@0.6.2`). Lets `npm run bench -- --runtimes webgpu` measure
 * onnxruntime-web's WebGPU backend on a machine that has a GPU but no browser. Dawn is also Chromium's WebGPU, so the
 * shaders and dispatches are the page's; the browser's process hops are not.
 */

/** What the benchmark reports of the adapter. */
export interface NodeGpuAdapter {
  /** Vendor, architecture and description, as the adapter's info gives them. */
  readonly description: string;
  readonly shaderF16: boolean;
  /** The largest buffer a shader can bind (what the app sizes batches by: src/worker/backend.ts). */
  readonly maxBufferBytes: number;
}

interface DawnModule {
  readonly create: (flags: string[]) => GPU;
  readonly globals: Record<string, unknown>;
}

const INSTALL_HINT = 'WebGPU in Node needs Dawn\'s bindings: run "npm install --no-save webgpu@0.6.2" first';

/**
 * Puts Dawn's `GPU` on `navigator` and its classes on `globalThis`, as a browser has them, and returns the adapter
 * ONNX Runtime will find there (its default request, as onnxruntime-web makes it). `DAWN_FLAGS` in the environment
 * passes Dawn's own options (space-separated, e.g. `enable-dawn-features=allow_unsafe_apis`).
 */
export async function installNodeWebGpu(): Promise<NodeGpuAdapter> {
  const name = 'webgpu'; // A variable: TypeScript checks no types for an optional package.
  const dawn = (await import(name).catch((error: unknown) => {
    throw new Error(INSTALL_HINT, { cause: error });
  })) as DawnModule;
  Object.assign(globalThis, dawn.globals);
  allowSharedMemoryWrites(dawn.globals.GPUQueue as { prototype: GPUQueue });
  const gpu = dawn.create((process.env.DAWN_FLAGS ?? '').split(' ').filter((flag) => flag !== ''));
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('Dawn found no GPU adapter (no Vulkan driver? VK_DRIVER_FILES names the ICD file)');
  const { vendor, architecture, description } = adapter.info;
  return {
    description: [vendor, architecture, description].filter((part) => part !== '').join(', '),
    shaderF16: adapter.features.has('shader-f16'),
    maxBufferBytes: Math.min(adapter.limits.maxStorageBufferBindingSize, adapter.limits.maxBufferSize),
  };
}

/**
 * onnxruntime-web's threaded build writes buffers from its shared WASM memory (a view of it, or the SharedArrayBuffer
 * with a byte range); browsers accept those, Dawn's bindings refuse them. The bytes are copied out first.
 */
function allowSharedMemoryWrites(queue: { prototype: GPUQueue }): void {
  type WriteBuffer = (this: GPUQueue, ...args: Parameters<GPUQueue['writeBuffer']>) => undefined;
  const writeBuffer = Object.getOwnPropertyDescriptor(queue.prototype, 'writeBuffer')?.value as WriteBuffer;
  queue.prototype.writeBuffer = function (this: GPUQueue, buffer, offset, data, dataOffset, size) {
    if (data instanceof SharedArrayBuffer) {
      // Offsets into a buffer count bytes.
      const start = dataOffset ?? 0;
      const copy = new Uint8Array(data, start, size ?? data.byteLength - start).slice();
      return writeBuffer.call(this, buffer, offset, copy, 0, copy.byteLength);
    }
    // Into a view they count elements: the whole view is copied, the offsets stay.
    const shared = ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer;
    const source = shared ? new (data.constructor as new (from: ArrayBufferView) => ArrayBufferView)(data) : data;
    return writeBuffer.call(this, buffer, offset, source as GPUAllowSharedBufferSource, dataOffset, size);
  };
}
