/**
 * WebGPU or WASM: WebGPU when the browser gives an adapter (and, for fp16 models, `shader-f16`),
 * WASM otherwise. The reason is shown to the user, because "why is this slow?" has many answers.
 */
import { WebGPUUnavailableError } from './errors.ts';
import type { BackendName } from './protocol.ts';

/** The part of a WebGPU adapter we read (TypeScript's DOM lib has no WebGPU types). */
export interface GpuAdapterLike {
  readonly features: { has(feature: string): boolean };
  readonly limits?: { readonly maxStorageBufferBindingSize: number; readonly maxBufferSize: number };
  readonly info?: { readonly vendor: string; readonly architecture: string; readonly isFallbackAdapter?: boolean };
}

export interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<GpuAdapterLike | null>;
}

export interface BackendChoice {
  readonly backend: BackendName;
  readonly reason: string;
  /** The largest buffer a kernel may bind, when WebGPU is chosen (sizes the VQGAN batch). */
  readonly maxBufferBytes?: number;
}

function withLimits(choice: BackendChoice, adapter: GpuAdapterLike): BackendChoice {
  const limits = adapter.limits;
  return limits
    ? { ...choice, maxBufferBytes: Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize) }
    : choice;
}

/**
 * WASM threads, only when the page is cross-origin isolated (without isolation there is no SharedArrayBuffer: one
 * thread). ONNX Runtime's (`threads`): all cores but one, at most 8; on a busy 2-core machine its second thread made
 * decoder steps up to 2× slower and never helped (docs/performance.md#wasm-threads), so one core stays free. Our
 * kernels' (`kernelThreads`) the same, but both cores of a 2-core machine: their threads claim chunks of each call, so
 * there their steps are 1.3–1.5× faster idle and 6–31 % slower with a core busy elsewhere
 * (docs/performance.md#our-kernels-on-both-of-two-cores).
 */
export function wasmThreads(
  crossOriginIsolated: boolean,
  cores: number | undefined,
): { threads: number; kernelThreads: number; note: string } {
  if (!crossOriginIsolated)
    return { threads: 1, kernelThreads: 1, note: '1 thread (the page is not cross-origin isolated)' };
  const threads = Math.max(1, Math.min(8, (cores ?? 2) - 1));
  const kernelThreads = Math.max(threads, Math.min(2, cores ?? 2));
  const count = (n: number) => `${n} thread${n === 1 ? '' : 's'}`;
  const note = kernelThreads === threads ? count(threads) : `${count(threads)}, our kernels ${kernelThreads}`;
  return { threads, kernelThreads, note };
}

/** `navigator.gpu` where it exists (window or worker). */
export function navigatorGpu(): GpuLike | undefined {
  const nav: object = globalThis.navigator;
  return 'gpu' in nav && nav.gpu ? (nav.gpu as GpuLike) : undefined;
}

async function probeAdapter(gpu: GpuLike | undefined): Promise<GpuAdapterLike | string> {
  if (!gpu) return 'this browser has no WebGPU (navigator.gpu is missing)';
  try {
    return (await gpu.requestAdapter({ powerPreference: 'high-performance' })) ?? 'the browser found no WebGPU adapter';
  } catch (error) {
    return `requesting a WebGPU adapter failed (${(error as Error).message})`;
  }
}

function describe(adapter: GpuAdapterLike): string {
  const { vendor = '', architecture = '' } = adapter.info ?? {};
  const name = [vendor, architecture].filter(Boolean).join(' ');
  return name ? `adapter ${name}` : 'adapter found';
}

/**
 * @param forced the `?backend=` choice; forcing WebGPU without an adapter is an error, not a silent fallback.
 * @param needsF16 the model computes in fp16, which WebGPU only runs with the `shader-f16` feature.
 */
export async function chooseBackend(
  gpu: GpuLike | undefined,
  forced: BackendName | undefined,
  needsF16: boolean,
): Promise<BackendChoice> {
  if (forced === 'wasm') return { backend: 'wasm', reason: 'forced by ?backend=wasm' };
  const adapter = await probeAdapter(gpu);
  if (typeof adapter === 'string') {
    if (forced === 'webgpu') throw new WebGPUUnavailableError(adapter);
    return { backend: 'wasm', reason: adapter };
  }
  if (needsF16 && !adapter.features.has('shader-f16')) {
    const why = `the ${describe(adapter)} lacks shader-f16, which this fp16 model needs`;
    if (forced === 'webgpu') throw new WebGPUUnavailableError(why);
    return { backend: 'wasm', reason: why };
  }
  if (forced === 'webgpu')
    return withLimits({ backend: 'webgpu', reason: `forced by ?backend=webgpu, ${describe(adapter)}` }, adapter);
  // A software adapter (SwiftShader in headless or GPU-less machines) runs this model far slower than WASM.
  if (adapter.info?.isFallbackAdapter)
    return { backend: 'wasm', reason: `the only WebGPU ${describe(adapter)} is a software fallback, slower than WASM` };
  return withLimits({ backend: 'webgpu', reason: describe(adapter) }, adapter);
}
