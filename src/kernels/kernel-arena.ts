/**
 * One WebAssembly memory for a set of float kernels and their data, handed out in pieces aligned to cache lines and
 * grown as needed (up to WebAssembly's 4 GiB). Views must be taken afresh after an allocation: growing detaches old
 * ones. Aligned to lines, pieces that threads write side by side (each its columns or channels of a row) share none.
 */
const PAGE = 65536;
const LINE = 64;
const MAX_PAGES = 65536;

const kernelMemories = new WeakSet<WebAssembly.Memory>();

/** A fresh memory for our kernels, of one page, growable to 4 GiB; `shared` where helper threads share it. */
export function newKernelMemory(shared: boolean): WebAssembly.Memory {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared });
  kernelMemories.add(memory);
  return memory;
}

/** Whether `memory` is one of our kernels' (bench:browser tells them from ONNX Runtime's heap by it). */
export function isKernelMemory(memory: WebAssembly.Memory): boolean {
  return kernelMemories.has(memory);
}

export class KernelArena {
  readonly memory: WebAssembly.Memory;
  private top = 16; // offset 0 stays unused: a null address is never a piece

  /** `shared`: a memory helper threads can share (gemm-threads.ts). */
  constructor(shared = false) {
    this.memory = newKernelMemory(shared);
  }

  /** A piece of `bytes` (zeroed, as new memory is), aligned to 64 bytes. */
  alloc(bytes: number): number {
    const at = Math.ceil(this.top / LINE) * LINE;
    const pages = Math.ceil((at + bytes) / PAGE);
    if (pages > MAX_PAGES) throw new RangeError(`our kernels' memory would pass 4 GiB (${at + bytes} bytes)`);
    const have = this.memory.buffer.byteLength / PAGE;
    if (pages > have) this.memory.grow(pages - have);
    this.top = at + bytes;
    return at;
  }

  /** `count` floats at byte offset `at`. */
  floats(at: number, count: number): Float32Array {
    return new Float32Array(this.memory.buffer, at, count);
  }
}
