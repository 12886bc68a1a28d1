/**
 * Session options per backend and graph, shared by the worker, the CLI and the benchmarks.
 *
 * WASM: int8 weights are dequantized once at load (`session.disable_quant_qdq` lets ORT's constant
 * folding fold DequantizeLinear). Dequantizing on every step instead made a mini q8 decoder step
 * ~17× slower than fp32 in `npm run bench`-style runs on onnxruntime-web; the download stays small.
 * MatMulNBits (8 or 4 bits) loses on this build: it dequantizes every run, 3–15× slower than the folded
 * float32 MatMul (docs/performance.md#q8-on-wasm-int8-kernels-without-packed-weights-lose-to-folded-float32).
 * A q8 decoder's WASM graph (`wasmHostCacheFile`) multiplies in int8 instead and has nothing to fold.
 * WebGPU: the decoder's KV cache outputs (the new slot, or present.*) and its logits stay on the GPU, for the
 * shaders that write the slot into the cache and cut the logits to sampling candidates.
 */
import { DECODER_OUTPUTS, cacheNames, crossAttentionNames, newSlotNames } from '../model/graph-io.ts';
import type { GraphName } from '../model/graph-io.ts';
import type { ModelManifest } from '../model/manifest.ts';
import type { SessionOptions } from './runtime.ts';

/** The ONNX Runtime execution providers the app runs on. */
export const BACKENDS = ['webgpu', 'wasm'] as const;
export type BackendName = (typeof BACKENDS)[number];

export function isBackendName(value: string): value is BackendName {
  return (BACKENDS as readonly string[]).includes(value);
}

/** ORT warns on every WebGPU session that shape ops run on the CPU, which is by design: log errors only. */
const QUIET = { logSeverityLevel: 3 } as const;

/** Every graph on WASM: int8 weights folded to float32 at load (above). */
export const WASM_SESSION_OPTIONS: SessionOptions = {
  ...QUIET,
  executionProviders: ['wasm'],
  extra: { session: { disable_quant_qdq: '1' } },
};

export function sessionOptionsFor(backend: BackendName, manifest: ModelManifest): (graph: GraphName) => SessionOptions {
  return (graph) => {
    if (backend === 'wasm') return { ...WASM_SESSION_OPTIONS };
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
    return { ...QUIET, executionProviders: ['webgpu'], preferredOutputLocation };
  };
}
