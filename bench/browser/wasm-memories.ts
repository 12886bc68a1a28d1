/**
 * The WebAssembly memories of the page's worker, read from the `WebAssembly.Memory`s made in it (threaded builds
 * construct theirs, others export it from their instance): our kernels' (the int8 GEMM's, the VQGAN's arena: they
 * are known by `isKernelMemory`) and onnxruntime-web's heap, all the rest. A WASM memory never shrinks, so each size
 * is a high-water mark: for ONNX Runtime, e.g. weights it folded to float32 at load
 * (docs/performance.md#dequantized-once-on-the-gpu).
 * Call before ONNX Runtime starts (it instantiates at the first session).
 */
import { isKernelMemory } from '../../src/kernels/kernel-arena.ts';

export interface WasmMemories {
  /** ONNX Runtime's heap in MB, or null where none was seen. */
  readonly ortMb: number | null;
  /** Our kernels' memories, summed, in MB (0 where there is none). */
  readonly ownKernelsMb: number;
}

export function watchWasmMemories(): () => WasmMemories {
  const memories = new Set<WebAssembly.Memory>();
  const NativeMemory = WebAssembly.Memory;
  const made = function (descriptor: WebAssembly.MemoryDescriptor) {
    const memory = new NativeMemory(descriptor);
    memories.add(memory);
    return memory;
  } as unknown as typeof WebAssembly.Memory;
  made.prototype = NativeMemory.prototype;
  const exported = <T extends WebAssembly.WebAssemblyInstantiatedSource | WebAssembly.Instance>(result: T): T => {
    const instance = result instanceof WebAssembly.Instance ? result : result.instance;
    for (const value of Object.values(instance.exports)) if (value instanceof NativeMemory) memories.add(value);
    return result;
  };
  const instantiate = WebAssembly.instantiate.bind(WebAssembly) as (...args: unknown[]) => Promise<never>;
  const streaming = WebAssembly.instantiateStreaming.bind(WebAssembly);
  Object.assign(WebAssembly, {
    Memory: made,
    instantiate: (...args: unknown[]) => instantiate(...args).then(exported),
    instantiateStreaming: (...args: Parameters<typeof streaming>) => streaming(...args).then(exported),
  });
  const mb = (memory: WebAssembly.Memory) => memory.buffer.byteLength / 2 ** 20;
  return () => {
    const ort = [...memories].filter((m) => !isKernelMemory(m)).map(mb);
    const own = [...memories].filter(isKernelMemory).map(mb);
    return { ortMb: ort.length === 0 ? null : Math.max(...ort), ownKernelsMb: own.reduce((a, b) => a + b, 0) };
  };
}
