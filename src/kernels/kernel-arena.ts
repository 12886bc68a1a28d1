/**
 * One WebAssembly memory for a set of float kernels and their data, handed out in 16-byte-aligned pieces and grown as
 * needed (up to WebAssembly's 4 GiB). Views must be taken afresh after an allocation: growing detaches old ones.
 */
const PAGE = 65536;
const MAX_PAGES = 65536;

export class KernelArena {
  readonly memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES });
  private top = 16; // offset 0 stays unused: a null address is never a piece

  /** A piece of `bytes` (zeroed, as new memory is), 16-byte aligned. */
  alloc(bytes: number): number {
    const at = Math.ceil(this.top / 16) * 16;
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
