/**
 * How many images to run at once. The decoder batch is bounded by the memory its KV cache and
 * cross-attention tensors need; the VQGAN batch by its largest activation (full-resolution feature
 * maps), which must fit in one GPU buffer. Estimates, deliberately conservative.
 */
import type { ModelManifest } from '../model/manifest.ts';

export interface DeviceLimits {
  /** Memory we allow the run to use (device memory on WebGPU, heap on WASM). */
  readonly memoryBytes: number;
  /** Largest single buffer (WebGPU maxStorageBufferBindingSize; WASM: the heap limit). */
  readonly maxBufferBytes: number;
}

export interface BatchSizes {
  readonly decoder: number;
  readonly vqgan: number;
}

export const MAX_BATCH = 16;

function floatBytes(compute: 'float32' | 'float16'): number {
  return compute === 'float16' ? 2 : 4;
}

/** Where the decoder runs: onnxruntime-web's WASM or WebGPU backend, or onnxruntime-node. */
export type BatchRuntime = 'wasm' | 'webgpu' | 'native';

/**
 * Copies of the KV cache alive during a step. WebGPU writes each new slot into one set of buffers when the folder has
 * the host-cache graph (SlotWriteDecoder) and otherwise reads one set while writing the other (SwappedCacheDecoder);
 * the CPU runtimes keep the cache in JavaScript, where it grows by copying, and WASM copies it into its heap every run.
 * Our own kernels (a q8 decoder on WASM) keep one copy of 16-bit integers, outside ONNX Runtime's heap: two float32
 * copies are 4× that, conservative there (the page-vs-CLI e2e comparisons depend on these plans: change them together).
 */
export function cacheCopies(manifest: ModelManifest, runtime: BatchRuntime): number {
  return runtime === 'webgpu' && manifest.graphs.decoder.hostCacheFile !== undefined ? 1 : 2;
}

/** Bytes the decoder needs per image beyond the weights: its rows' self-attention caches and logits (cond + uncond). */
export function decoderBytesPerImage(manifest: ModelManifest, copies = 2): number {
  const c = manifest.dalleBart;
  const bytes = floatBytes(manifest.graphs.decoder.compute);
  const rows = 2;
  const cache = rows * c.decoderLayers * 2 * c.dModel * c.imageLength * bytes;
  const logits = rows * (c.imageVocabSize + 1) * 4;
  return copies * cache + logits;
}

/** The encoder's cross-attention keys/values: one cond and one uncond row that every image of a batch reads. */
export function decoderSharedBytes(manifest: ModelManifest): number {
  const c = manifest.dalleBart;
  return 2 * c.decoderLayers * 2 * c.dModel * c.maxTextLength * floatBytes(manifest.graphs.decoder.compute);
}

/**
 * The Winograd graph's transformed operands hold 6² values per 4² pixels where it tiles by F(4×4, 3×3),
 * 2.25× the feature map they come from (8² per 6², 1.78×, where it tiles by F(6×6)): the larger bounds
 * both (docs/model-format.md#vqgan-blocks).
 */
const WINOGRAD_EXPANSION = 36 / 16;

/** The largest VQGAN activation for one image: the full-resolution feature map (Winograd-transformed). */
export function vqganLargestActivation(manifest: ModelManifest, winograd = false): number {
  const v = manifest.vqgan;
  return v.ch * (v.chMult[0] ?? 1) * v.resolution * v.resolution * 4 * (winograd ? WINOGRAD_EXPANSION : 1);
}

/** @param runtime on WASM the VQGAN runs its Winograd graph when the model has one (`wasmFile`). */
export function chooseBatchSizes(manifest: ModelManifest, limits: DeviceLimits, runtime: BatchRuntime): BatchSizes {
  const perImage = decoderBytesPerImage(manifest, cacheCopies(manifest, runtime));
  const decoder = Math.floor((limits.memoryBytes - decoderSharedBytes(manifest)) / perImage);
  const winograd = runtime === 'wasm' && manifest.graphs.vqgan.wasmFile !== undefined;
  const activation = vqganLargestActivation(manifest, winograd);
  // A few full-resolution maps are alive at once (input, two conv outputs, the residual); inside a
  // Winograd convolution more (its input operand and GEMM output, the transforms' temporaries).
  const vqgan = Math.min(
    Math.floor(limits.maxBufferBytes / activation),
    Math.floor(limits.memoryBytes / ((winograd ? 6 : 4) * activation)),
  );
  const clamp = (n: number): number => Math.max(1, Math.min(MAX_BATCH, n));
  return { decoder: clamp(decoder), vqgan: clamp(vqgan) };
}
