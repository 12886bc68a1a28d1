/**
 * One WebAssembly module for a set of float kernels: every layer adds the functions it needs by name (one name, one
 * code: layers of one shape share theirs), then the module is compiled once over one memory. Each kernel's last two
 * parameters are a range of its work, so a call can be shared out among threads that each instantiate the same module
 * over the same (shared) memory: `run` (gemm-threads.ts's `ranged` task; docs/performance.md#the-vqgan-on-our-kernels).
 */
import { GemmThreads, rangedArgs, runCall, shareKernels, startGemmHelpers, TASKS } from './gemm-threads.ts';
import type { GemmHelper, ShareKernels, SpawnGemmHelper } from './gemm-threads.ts';
import { encodeModule } from './wasm-binary.ts';
import type { FunctionBody } from './wasm-binary.ts';

interface Built {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly shares: ShareKernels;
  /** Each function's index in the module's exports, as `ranged` calls name it. */
  readonly indices: ReadonlyMap<string, number>;
}

export class KernelModule {
  private readonly bodies = new Map<string, FunctionBody>();
  private built: Built | null = null;
  private threads: GemmThreads | null = null;
  private helpers: GemmHelper[] = [];

  /** Adds the function `write` builds under `name`, unless it is there; returns the name to call it by. */
  add(name: string, write: () => FunctionBody): string {
    if (this.built) throw new Error(`kernel ${name} added after the module was built`);
    if (!this.bodies.has(name)) this.bodies.set(name, write());
    return name;
  }

  /** Compiles every function added into one module over `memory`. */
  build(memory: WebAssembly.Memory): void {
    // SharedArrayBuffer is undefined on pages that are not cross-origin isolated.
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const module = new WebAssembly.Module(encodeModule(Object.fromEntries(this.bodies), { shared }));
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    const shares = shareKernels(module, instance);
    const indices = new Map(shares.names.map((name, index) => [name, index]));
    this.built = { module, memory, shares, indices };
  }

  /**
   * Shares every later `run` among `threads` (this one included): starts helpers 1 … threads − 1 on the built module.
   * The memory must be shared, with gemm-threads.ts's CONTROL_WORDS Int32s at byte offset `controlAt` for them alone.
   */
  async startThreads(threads: number, spawn: SpawnGemmHelper, controlAt: number): Promise<void> {
    const { module, memory, shares } = this.ready();
    if (threads < 2 || this.threads) return;
    this.helpers = await startGemmHelpers(spawn, { module, memory, controlAt, threads });
    this.threads = new GemmThreads(memory, shares, controlAt, threads);
  }

  /** Threads a `run` is shared among (this one included). */
  get threadCount(): number {
    return this.helpers.length + 1;
  }

  /**
   * Calls the function added under `name` as f(...params, from, to) over [0, count · granularity), each thread the
   * chunks it claims (whole multiples of `granularity`).
   */
  run(name: string, count: number, granularity: number, params: readonly number[]): void {
    const { memory, shares, indices } = this.ready();
    const index = indices.get(name);
    if (index === undefined) throw new Error(`no kernel ${name}`);
    // Helpers read as many parameters as the function takes: fewer given, they would read an earlier call's.
    if (shares.functions[index]!.length !== params.length + 2)
      throw new Error(`kernel ${name} takes ${shares.functions[index]!.length - 2} parameters before its range`);
    const args = rangedArgs(index, count, granularity, params);
    if (this.threads && count > 1) this.threads.run('ranged', args);
    else runCall(shares, memory, TASKS.ranged, args);
  }

  /** Stops the helper threads; the module still runs on this thread. */
  async release(): Promise<void> {
    this.threads?.stop();
    this.threads = null;
    const helpers = this.helpers;
    this.helpers = [];
    await Promise.all(helpers.map((helper) => helper.stop()));
  }

  private ready(): Built {
    if (!this.built) throw new Error('a kernel was called before the module was built');
    return this.built;
  }
}
