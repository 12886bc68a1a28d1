/**
 * One WebAssembly module for a set of float kernels: every layer adds the functions it needs by name (one name, one
 * code: layers of one shape share theirs), then the module is compiled once over one memory, so the layers' code is
 * one module that threads could each instantiate (docs/performance.md#the-vqgan-on-our-kernels).
 */
import type { KernelFunction } from './f32-gemm-kernel.ts';
import { encodeModule } from './wasm-binary.ts';
import type { FunctionBody } from './wasm-binary.ts';

export class KernelModule {
  private readonly bodies = new Map<string, FunctionBody>();
  private exports: Record<string, KernelFunction> | null = null;

  /** Adds the function `write` builds under `name`, unless it is there; returns the name to call it by. */
  add(name: string, write: () => FunctionBody): string {
    if (this.exports) throw new Error(`kernel ${name} added after the module was built`);
    if (!this.bodies.has(name)) this.bodies.set(name, write());
    return name;
  }

  /** Compiles every function added into one module over `memory`. */
  build(memory: WebAssembly.Memory): void {
    // SharedArrayBuffer is undefined on pages that are not cross-origin isolated.
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const bytes = encodeModule(Object.fromEntries(this.bodies), { shared });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    this.exports = instance.exports as Record<string, KernelFunction>;
  }

  /** The function added under `name`, once built. */
  fn(name: string): KernelFunction {
    const found = this.exports?.[name];
    if (!found)
      throw new Error(this.exports ? `no kernel ${name}` : `kernel ${name} called before the module was built`);
    return found;
  }
}
