/**
 * The size of onnxruntime-web's WASM heap, read from the `WebAssembly.Memory` it makes (threaded builds construct it,
 * others export it from their instance). A WASM memory never shrinks, so its size is the high-water mark of what ONNX
 * Runtime held in the page: e.g. weights it folded to float32 at load
 * (docs/performance.md#dequantized-once-on-the-gpu).
 * Call before ONNX Runtime starts (it instantiates at the first session).
 */
export function watchWasmHeap(): () => number | null {
  const memories: WebAssembly.Memory[] = [];
  const NativeMemory = WebAssembly.Memory;
  const made = function (descriptor: WebAssembly.MemoryDescriptor) {
    const memory = new NativeMemory(descriptor);
    memories.push(memory);
    return memory;
  } as unknown as typeof WebAssembly.Memory;
  made.prototype = NativeMemory.prototype;
  const exported = <T extends WebAssembly.WebAssemblyInstantiatedSource | WebAssembly.Instance>(result: T): T => {
    const instance = result instanceof WebAssembly.Instance ? result : result.instance;
    for (const value of Object.values(instance.exports)) if (value instanceof NativeMemory) memories.push(value);
    return result;
  };
  const instantiate = WebAssembly.instantiate.bind(WebAssembly) as (...args: unknown[]) => Promise<never>;
  const streaming = WebAssembly.instantiateStreaming.bind(WebAssembly);
  Object.assign(WebAssembly, {
    Memory: made,
    instantiate: (...args: unknown[]) => instantiate(...args).then(exported),
    instantiateStreaming: (...args: Parameters<typeof streaming>) => streaming(...args).then(exported),
  });
  return () => (memories.length === 0 ? null : Math.max(...memories.map((m) => m.buffer.byteLength)) / 2 ** 20);
}
