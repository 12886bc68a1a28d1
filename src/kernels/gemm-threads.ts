/**
 * Helper threads for our kernels: every thread instantiates the same module over one shared memory, and a call is
 * split into shares: a GEMM by columns (each thread streams its own panels of weights, so nothing is shared but the
 * activations), an attention call by (row, head) pairs (attention-share.ts), any function of a module of float kernels
 * by the range of its work it takes last (`ranged`: KernelModule.run).
 * Threads meet through a control block of Int32s in that memory, watching it briefly and then sleeping with
 * `Atomics.wait`/`notify`: a few microseconds per call, where a message would cost a task hop. The caller waits with
 * `Atomics.wait` too, so it must run in a worker (or Node), never on a page's main thread. Pure: the environment
 * spawns the threads (`SpawnGemmHelper`).
 */
import { ATTENTION_PARAMS, attendShare } from './attention-share.ts';
import type { AttentionKernels } from './attention-share.ts';
import type { KernelFunction } from './f32-gemm-kernel.ts';
import { GEMM_PARAMS, PANEL_COLUMNS } from './int8-gemm-kernel.ts';

/** What a helper thread is sent once. */
export interface GemmHelperInit {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  /** Byte offset of the control block. */
  readonly controlAt: number;
  /** This helper's share: 1 … threads − 1 (the caller takes share 0). */
  readonly share: number;
  readonly threads: number;
}

/** A started helper thread: `ready` once it waits for calls (its `onReady`), `stop` ends it. */
export interface GemmHelper {
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

/** Starts a thread that calls serveGemmHelper(init, onReady). */
export type SpawnGemmHelper = (init: GemmHelperInit) => GemmHelper;

const GENERATION = 0;
const PENDING = 1;
const STOP = 2;
/** Set by a helper whose share failed (the caller throws). */
const FAILED = 3;
const TASK = 4;
const ARGS = 5;
/** How long a call waits for its helpers before it gives up on them (a share takes milliseconds). */
const HELPER_TIMEOUT_MS = 60_000;
/** How long helper threads get to start (a worker's script load and one instantiation). */
const HELPER_START_MS = 30_000;
/** The most parameters a `ranged` call passes its function before the range (f32-gemm-kernel.ts's seven). */
export const RANGED_PARAMS = 7;
/** A `ranged` call's words before the function's parameters: its export index, count and granularity. */
const RANGED_HEADER = 3;
/** Int32s in the control block. */
export const CONTROL_WORDS =
  ARGS + Math.max(GEMM_PARAMS.length, ATTENTION_PARAMS.length, RANGED_HEADER + RANGED_PARAMS);

/**
 * What a call computes: `gemm` and `gemmRelaxed` (int8-gemm-kernel.ts's two kernels) take GEMM_PARAMS without p0 and
 * p1, `attention` ATTENTION_PARAMS; `ranged` any function of the module whose last two parameters are a range
 * [from, to) of its work (rangedArgs).
 */
export const TASKS = { gemm: 0, attention: 1, gemmRelaxed: 2, ranged: 3 } as const;
export type KernelTask = keyof typeof TASKS;

/** The int8 module's exports a share runs (a module of float kernels has none of them: it runs `ranged` calls). */
export interface SharedKernels extends AttentionKernels {
  readonly gemm: (...args: number[]) => void;
  /** Only in a module built where relaxed SIMD compiles. */
  readonly gemmRelaxed?: (...args: number[]) => void;
}

/** One instance of a module, as a share runs it: its kernels by name, and every function it exports by index. */
export interface ShareKernels {
  readonly kernels: SharedKernels;
  /** In the module's export order, the same on every thread: what a `ranged` call names by index. */
  readonly functions: readonly KernelFunction[];
  /** `functions`' export names, in the same order. */
  readonly names: readonly string[];
}

/** The exports of `instance` (of `module`) as shares run them. */
export function shareKernels(module: WebAssembly.Module, instance: WebAssembly.Instance): ShareKernels {
  const exports = instance.exports as Record<string, KernelFunction>;
  const names = WebAssembly.Module.exports(module)
    .filter((entry) => entry.kind === 'function')
    .map((entry) => entry.name);
  const functions = names.map((name) => exports[name]!);
  return { kernels: instance.exports as unknown as SharedKernels, functions, names };
}

/**
 * A `ranged` call's arguments: function `index` of the module's exports, called by each share as
 * f(...params, from, to) with its slice of [0, count) in steps of `granularity` (0 … count · granularity).
 */
export function rangedArgs(index: number, count: number, granularity: number, params: readonly number[]): number[] {
  if (params.length > RANGED_PARAMS) throw new Error(`a ranged call passes at most ${RANGED_PARAMS} parameters`);
  return [index, count, granularity, ...params];
}

/**
 * Loads of a control word before a thread sleeps on it (≈ 0.1 ms). On the mini q8 decoder, 2 threads, 1 image: a step
 * of 16.7 ms without spinning, 11.2 with (2 000 loads: no gain; 100 000: none more); 9 images unchanged.
 */
const SPINS = 20_000;

/**
 * Watches `control[index]` while it holds `value`, briefly: waking a sleeping thread costs tens of microseconds, and a
 * decoder step makes about a hundred calls, most of them a fraction of a millisecond after the last.
 */
function spinWhile(control: Int32Array, index: number, value: number): void {
  for (let i = 0; i < SPINS && Atomics.load(control, index) === value; i++);
}

/** Computes share `share` of `threads` of a call. */
export function runShare(
  { kernels, functions }: ShareKernels,
  memory: WebAssembly.Memory,
  task: number,
  args: readonly number[],
  share: number,
  threads: number,
): void {
  if (task === TASKS.ranged) return rangedShare(functions, args, share, threads);
  if (task === TASKS.attention) return attendShare(kernels, memory, args, share, threads);
  const gemm = task === TASKS.gemmRelaxed ? kernels.gemmRelaxed : kernels.gemm;
  if (!gemm) throw new Error('this module has no relaxed SIMD kernel');
  const [p0, p1] = shareColumns(args[6]!, share, threads);
  if (p1 > p0) gemm(...args.slice(0, 8), p0, p1);
}

function rangedShare(functions: readonly KernelFunction[], args: readonly number[], share: number, threads: number) {
  const [index, count, granularity] = args as [number, number, number];
  const fn = functions[index];
  if (!fn) throw new Error(`the module has no function ${index}`);
  const from = Math.floor((share * count) / threads);
  const to = Math.floor(((share + 1) * count) / threads);
  // Only the parameters the caller wrote: the control block's later words hold an earlier call's.
  if (to > from) fn(...args.slice(RANGED_HEADER, RANGED_HEADER + fn.length - 2), from * granularity, to * granularity);
}

/** Columns [p0, p1) of share `share` out of `threads`, whole panels each. */
export function shareColumns(paddedOut: number, share: number, threads: number): [number, number] {
  const panels = paddedOut / PANEL_COLUMNS;
  const from = Math.floor((share * panels) / threads);
  const to = Math.floor(((share + 1) * panels) / threads);
  return [from * PANEL_COLUMNS, to * PANEL_COLUMNS];
}

/**
 * A helper thread's loop: waits for each call, computes its share, reports done; returns when told to stop.
 * `onReady` runs once the kernel is instantiated (the caller's first call waits for every helper's).
 */
export function serveGemmHelper(init: GemmHelperInit, onReady: () => void): void {
  const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
  const kernels = shareKernels(init.module, instance);
  const control = new Int32Array(init.memory.buffer, init.controlAt, CONTROL_WORDS);
  // Calls are numbered from 1 and each waits for every helper: starting at 0, a helper never misses one.
  let seen = 0;
  onReady();
  for (;;) {
    spinWhile(control, GENERATION, seen);
    Atomics.wait(control, GENERATION, seen);
    const generation = Atomics.load(control, GENERATION);
    if (generation === seen) continue;
    seen = generation;
    if (Atomics.load(control, STOP) !== 0) return;
    // Unsigned: byte offsets past 2 GiB travel through the Int32Array as negative numbers.
    const args = Array.from(control.subarray(ARGS), (word) => word >>> 0);
    try {
      runShare(kernels, init.memory, Atomics.load(control, TASK), args, init.share, init.threads);
    } catch {
      Atomics.store(control, FAILED, 1);
    } finally {
      if (Atomics.sub(control, PENDING, 1) === 1) Atomics.notify(control, PENDING);
    }
  }
}

/** The caller's side: posts a call to the helpers, computes share 0, waits for the rest. */
export class GemmThreads {
  private readonly control: Int32Array;
  /** Set when helpers stopped answering: a late one could still write into a later call's memory. */
  private broken = false;

  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly kernels: ShareKernels,
    controlAt: number,
    private readonly threads: number,
  ) {
    this.control = new Int32Array(memory.buffer, controlAt, CONTROL_WORDS);
  }

  run(task: KernelTask, args: readonly number[]): void {
    const { control, threads } = this;
    if (this.broken) throw new Error('the kernel helper threads stopped answering in an earlier call');
    control.set(args, ARGS);
    control[TASK] = TASKS[task];
    Atomics.store(control, PENDING, threads - 1);
    Atomics.add(control, GENERATION, 1);
    Atomics.notify(control, GENERATION);
    let failure: Error | null = null;
    try {
      runShare(this.kernels, this.memory, TASKS[task], args, 0, threads);
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
    }
    // Even when this share failed: the helpers are still writing into the memory.
    const deadline = performance.now() + HELPER_TIMEOUT_MS;
    for (let pending = Atomics.load(control, PENDING); pending !== 0; pending = Atomics.load(control, PENDING)) {
      const left = deadline - performance.now();
      if (left <= 0) {
        this.broken = true;
        throw new Error(`${pending} kernel helper thread(s) stopped answering`);
      }
      spinWhile(control, PENDING, pending);
      if (Atomics.load(control, PENDING) === pending) Atomics.wait(control, PENDING, pending, left);
    }
    const helperFailed = Atomics.exchange(control, FAILED, 0) !== 0;
    if (failure !== null) throw failure;
    if (helperFailed) throw new Error('a kernel helper thread failed its share');
  }

  /** Tells every helper to return. */
  stop(): void {
    Atomics.store(this.control, STOP, 1);
    Atomics.add(this.control, GENERATION, 1);
    Atomics.notify(this.control, GENERATION);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Spawns helpers 1 … threads − 1 of `module` over `memory` and waits until each serves calls; on failure the ones
 * started are stopped and the error thrown.
 */
export async function startGemmHelpers(
  spawn: SpawnGemmHelper,
  init: Omit<GemmHelperInit, 'share'>,
): Promise<GemmHelper[]> {
  const helpers: GemmHelper[] = [];
  try {
    for (let share = 1; share < init.threads; share++) helpers.push(spawn({ ...init, share }));
    // The caller blocks in Atomics.wait during a call: a helper still starting might need this thread's event loop.
    await withTimeout(
      Promise.all(helpers.map((helper) => helper.ready)),
      HELPER_START_MS,
      `a kernel helper thread did not start within ${HELPER_START_MS / 1000} s`,
    );
    return helpers;
  } catch (error) {
    await Promise.all(helpers.map((helper) => helper.stop()));
    throw error;
  }
}
