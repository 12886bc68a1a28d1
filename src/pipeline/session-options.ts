/**
 * Session options per backend and graph, shared by the worker, the CLI and the benchmarks.
 *
 * WASM: int8 weights are dequantized once at load (`session.disable_quant_qdq` lets ORT's constant
 * folding fold DequantizeLinear), except the VQGAN's (WASM_VQGAN_OPTIONS). Dequantizing on every step
 * instead made a mini q8 decoder step ~17× slower than fp32 in `npm run bench`-style runs on
 * onnxruntime-web; the download stays small.
 * MatMulNBits (8 or 4 bits) loses on this build: it dequantizes every run, 3–15× slower than the folded
 * float32 MatMul (docs/performance.md#q8-on-wasm-int8-kernels-without-packed-weights-lose-to-folded-float32).
 * A q8 decoder's WASM graph (`wasmHostCacheFile`) multiplies in int8 instead and has nothing to fold; the page and the
 * CLI run a q8 encoder and decoder on our own kernels instead (ownKernelsOnWasm, SessionChoices.ownKernels), faster,
 * closer to fp32 and int8 in memory (docs/performance.md#our-own-int8-kernel).
 * WebGPU: the decoder's KV cache outputs (the new slot, or present.*) and its logits stay on the GPU, for the
 * shaders that write the slot into the cache and cut the logits to sampling candidates. A q8 decoder's weights are
 * dequantized once at load there too where the worker chooses it (foldsDecoderOnWebgpu), instead of at every step:
 * on the GPU by the folder's dequantization graph (weight-inputs.ts), or, in older folders, folded by ONNX Runtime.
 */
import { DECODER_OUTPUTS, cacheNames, crossAttentionNames, newSlotNames } from '../model/graph-io.ts';
import type { GraphName } from '../model/graph-io.ts';
import { decoderLinearShapes, weightCount } from '../model/decoder-linears.ts';
import type { ModelManifest } from '../model/manifest.ts';
import type { SpawnGemmHelper } from '../kernels/gemm-threads.ts';
import type { Int8GemmOptions } from '../kernels/int8-gemm.ts';
import type { SessionOptions } from './runtime.ts';
import { weightInputFiles } from './weight-inputs.ts';

/** The ONNX Runtime execution providers the app runs on. */
export const BACKENDS = ['webgpu', 'wasm'] as const;
export type BackendName = (typeof BACKENDS)[number];

export function isBackendName(value: string): value is BackendName {
  return (BACKENDS as readonly string[]).includes(value);
}

/** ORT warns on every WebGPU session that shape ops run on the CPU, which is by design: log errors only. */
const QUIET = { logSeverityLevel: 3 } as const;

/** ORT's constant folding then computes DequantizeLinear of constant (weight) inputs: float32 weights at load. */
const FOLD_WEIGHTS = { extra: { session: { disable_quant_qdq: '1' } } } as const;

/** The DalleBart graphs on WASM where ONNX Runtime runs them: int8 weights folded to float32 at load (above). */
export const WASM_SESSION_OPTIONS: SessionOptions = { ...QUIET, executionProviders: ['wasm'], ...FOLD_WEIGHTS };

/**
 * The VQGAN on WASM where ONNX Runtime runs it (without ownKernels): its int8 weights dequantized in every decode, not
 * folded. Folded, ONNX Runtime also folds the
 * Winograd graph's filter transforms into constants (its constant folding reaches every node whose inputs are all
 * constant): 7× the float32 weights, ≈ 560 MB more resident for the VQGAN's session, for a decode no faster (once per
 * image batch, dequantizing takes a few tens of ms of ≈ 1.5 s; docs/performance.md#vqgan-weights-not-folded).
 */
export const WASM_VQGAN_OPTIONS: SessionOptions = { ...QUIET, executionProviders: ['wasm'] };

/**
 * The most GPU memory a q8 decoder's weights may take folded to float32 (4 bytes per weight instead of 1): mini's
 * 193 M linear weights take 0.77 GB, mega's 1.24 G would take 5 GB and stay int8.
 */
export const WEBGPU_FOLD_LIMIT_BYTES = 2 ** 30;

/**
 * The least memory (`navigator.deviceMemory`, GiB, which browsers cap at 8) for which WebGPU has ONNX Runtime fold a
 * folder's q8 decoder that lacks a dequantization graph: ONNX Runtime folds in its WASM heap, whose high-water mark
 * stays, so folding mini's decoder held ≈ 1.5 GB more in the page
 * (docs/performance.md#webgpu-q8-weights-folded-at-load).
 */
export const WEBGPU_FOLD_MIN_MEMORY_GIB = 8;

/** Whether a q8 decoder's linear weights fit WEBGPU_FOLD_LIMIT_BYTES as float32 (other dtypes have none to fold). */
export function canFoldDecoderOnWebgpu(manifest: ModelManifest): boolean {
  return manifest.dtype === 'q8' && 4 * weightCount(decoderLinearShapes(manifest.dalleBart)) <= WEBGPU_FOLD_LIMIT_BYTES;
}

/**
 * Whether WebGPU dequantizes the decoder's q8 weights once at load on a device with `deviceMemoryGiB`. Otherwise each
 * step runs a DequantizeLinear per linear layer: it reads the int8 weights and writes them out as float32, which the
 * MatMul then reads, 9 bytes of GPU memory traffic per weight and step against 4 dequantized once, plus a kernel per
 * layer. And only a decoder with float32 weights is captured: a captured session keeps every intermediate buffer, so
 * it would hold all those float32 copies at once (docs/model-format.md#graph-capture). The cost is 3 more bytes per
 * weight on the GPU; where ONNX Runtime has to fold them (a folder without a dequantization graph), the page's memory
 * above too.
 */
export function foldsDecoderOnWebgpu(manifest: ModelManifest, deviceMemoryGiB: number): boolean {
  const hasDequantizeGraph = weightInputFiles(manifest.graphs.decoder) !== undefined;
  return canFoldDecoderOnWebgpu(manifest) && (hasDequantizeGraph || deviceMemoryGiB >= WEBGPU_FOLD_MIN_MEMORY_GIB);
}

/**
 * Whether sessions with these options run DequantizeLinear of weights once at load (WASM always; WebGPU when chosen),
 * folded by ONNX Runtime or by the folder's dequantization graph (SessionOptions.dequantizeOnce).
 */
export function foldsWeights(options: SessionOptions): boolean {
  if (options.dequantizeOnce === true) return true;
  const session: unknown = options.extra?.session;
  return typeof session === 'object' && session !== null && 'disable_quant_qdq' in session
    ? session.disable_quant_qdq === '1'
    : false;
}

/**
 * Whether a q8 encoder and decoder, and the VQGAN, on WASM run on our own kernels, given the threads ONNX Runtime runs
 * there and a way to start helper threads: yes on one thread, and on more where helpers can be spawned (none: ONNX
 * Runtime). Measured on the random mini q8 export, 2-core machine: one thread 2.7× faster than ONNX Runtime's step at
 * 1 image and even at 9; two threads 2.1× faster at 1 image and 5–10 % faster at 9; from the 1- and 2-thread steps
 * (Amdahl), ours keeps ahead at 7 threads too (docs/performance.md#our-own-int8-kernel). Their 12-bit activations are
 * also closer to fp32. The VQGAN on two threads: 0.70× ONNX Runtime WASM's time
 * (docs/performance.md#the-vqgan-in-the-app).
 */
export function ownKernelsOnWasm(threads: number, spawnHelper?: SpawnGemmHelper): Int8GemmOptions | false {
  if (threads === 1) return {};
  return spawnHelper ? { threads, spawnHelper } : false;
}

export interface SessionChoices {
  /**
   * WebGPU: dequantize a q8 decoder's weights once at load (foldsDecoderOnWebgpu; ignored where they do not fit), by
   * the folder's dequantization graph where it has one, else folded by ONNX Runtime.
   */
  readonly foldDecoder?: boolean;
  /**
   * WASM: run a q8 encoder and decoder, and the VQGAN, on our own kernels with these threads; false (the default)
   * leaves them to ONNX Runtime. The page, the CLI and the benchmark choose by ownKernelsOnWasm or ask explicitly.
   */
  readonly ownKernels?: Int8GemmOptions | false;
}

export function sessionOptionsFor(
  backend: BackendName,
  manifest: ModelManifest,
  choices: SessionChoices = {},
): (graph: GraphName) => SessionOptions {
  return (graph) => {
    if (backend === 'wasm') {
      const own = choices.ownKernels ?? false;
      // The encoder too: int8 on our kernels where ONNX Runtime would hold its weights as float32.
      // The VQGAN of any dtype: its weights come out float32 either way (own-vqgan-session.ts).
      if (graph === 'vqgan')
        return own === false ? { ...WASM_VQGAN_OPTIONS } : { ...WASM_VQGAN_OPTIONS, ownKernels: own };
      const q8DalleBart = manifest.dtype === 'q8' && own !== false;
      return q8DalleBart ? { ...WASM_SESSION_OPTIONS, ownKernels: own } : { ...WASM_SESSION_OPTIONS };
    }
    if (graph === 'vqgan') return { ...QUIET, executionProviders: ['webgpu'] };
    // Tensors the decoder reads every step stay on the GPU: the encoder's cross keys/values
    // (uploaded once per prompt) and the decoder's own KV cache (fed straight back). So do the
    // logits, which a shader cuts down to the sampling candidates (EngineOptions.candidates).
    // The decoder's cache outputs: present.* (decoder.onnx) or, in the host-cache file, the new slot (new.*), which a
    // shader writes into the cache (EngineOptions.cacheSlots).
    const c = manifest.dalleBart;
    const onGpu = graph === 'encoder' ? crossAttentionNames(c) : [...cacheNames(c, 'present'), ...newSlotNames(c)];
    const preferredOutputLocation: Record<string, 'gpu-buffer'> = {};
    for (const { key, value } of onGpu) {
      preferredOutputLocation[key] = 'gpu-buffer';
      preferredOutputLocation[value] = 'gpu-buffer';
    }
    if (graph === 'decoder') preferredOutputLocation[DECODER_OUTPUTS.logits] = 'gpu-buffer';
    const options: SessionOptions = { ...QUIET, executionProviders: ['webgpu'], preferredOutputLocation };
    if (graph !== 'decoder' || choices.foldDecoder !== true || !canFoldDecoderOnWebgpu(manifest)) return options;
    return weightInputFiles(manifest.graphs.decoder)
      ? { ...options, dequantizeOnce: true }
      : { ...options, ...FOLD_WEIGHTS };
  };
}
