/**
 * Helper threads for our kernels: every thread instantiates the same module over one shared memory, and a call's work
 * is cut into chunks that the threads claim one at a time until none is left: a GEMM's by panels of columns (each
 * thread streams its own panels of weights, so nothing is shared but the activations), an attention call's by (row,
 * head) pairs (attention-share.ts), any function of a module of float kernels by the range of its work it takes last
 * (`ranged`: KernelModule.run). A thread that starts late or runs slow simply takes fewer chunks.
 * Threads meet through a control block of Int32s in that memory, watching it briefly and then sleeping with
 * `Atomics.wait`/`notify`: a few microseconds per call, where a message would cost a task hop. The caller waits with
 * `Atomics.wait` too, so it must run in a worker (or Node), never on a page's main thread. Pure: the environment
 * spawns the threads (`SpawnGemmHelper`).
 */
import { ATTENTION_PARAMS, attendPairs, attentionPairs } from './attention-share.ts';
import type { AttentionKernels } from './attention-share.ts';
import type { KernelFunction } from './f32-gemm-kernel.ts';
import { GEMM_PARAMS, PANEL_COLUMNS } from './int8-gemm-kernel.ts';

/** What a helper thread is sent once. */
export interface GemmHelperInit {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  /** Byte offset of the control block. */
  readonly controlAt: number;
  /** This helper's thread: 1 … threads − 1 (the caller is 0); an attention call's scratch is per thread. */
  readonly thread: number;
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
/** Chunks of the current call finished, by any thread. */
const DONE = 1;
const STOP = 2;
/** Set by a thread whose chunk failed (the caller throws once every chunk is counted). */
const FAILED = 3;
const TASK = 4;
/** The current call's tag (tagOf its generation) plus its next unclaimed chunk. */
const NEXT = 5;
const CHUNKS = 6;
const ARGS = 7;
/** How long a call waits for chunks a helper claimed before it gives up on it (a chunk takes milliseconds). */
const HELPER_TIMEOUT_MS = 60_000;
/** How long helper threads get to start (a worker's script load and one instantiation). */
const HELPER_START_MS = 30_000;
/** The most parameters a `ranged` call passes its function before the range (f32-gemm-kernel.ts's seven). */
export const RANGED_PARAMS = 7;
/** A `ranged` call's words before the function's parameters: its export index, count and granularity. */
const RANGED_HEADER = 3;
/** Int32s in the control block. */
export const CONTROL_WORDS =
  ARGS + Math.max(GEMM_PARAMS.length - 2, ATTENTION_PARAMS.length, RANGED_HEADER + RANGED_PARAMS);

/** Low bits of NEXT: the chunk index (so at most 1 023 chunks a call); the rest tag the call. */
const CHUNK_BITS = 10;
const CHUNK_MASK = (1 << CHUNK_BITS) - 1;
/**
 * Chunks a call is cut into per thread: a thread that starts late (a helper woken from sleep takes 0.1–0.2 ms) or runs
 * slower takes fewer, and the caller waits only for chunks already claimed, where fixed shares waited for every
 * thread's whole share (docs/performance.md#chunks-claimed-not-shares-assigned).
 */
export const CHUNKS_PER_THREAD = 2;

/** A call's tag in NEXT: its generation's low 21 bits, above the chunk index (positive as an Int32). */
const tagOf = (generation: number): number => (generation & 0x1fffff) << CHUNK_BITS;

/**
 * What a call computes: `gemm` and `gemmRelaxed` (int8-gemm-kernel.ts's two kernels) take GEMM_PARAMS without p0 and
 * p1, `attention` ATTENTION_PARAMS; `ranged` any function of the module whose last two parameters are a range
 * [from, to) of its work (rangedArgs).
 */
export const TASKS = { gemm: 0, attention: 1, gemmRelaxed: 2, ranged: 3 } as const;
export type KernelTask = keyof typeof TASKS;

/** The int8 module's exports a thread runs (a module of float kernels has none of them: it runs `ranged` calls). */
export interface SharedKernels extends AttentionKernels {
  readonly gemm: (...args: number[]) => void;
  /** Only in a module built where relaxed SIMD compiles. */
  readonly gemmRelaxed?: (...args: number[]) => void;
}

/** One instance of a module, as a thread runs it: its kernels by name, and every function it exports by index. */
export interface ShareKernels {
  readonly kernels: SharedKernels;
  /** In the module's export order, the same on every thread: what a `ranged` call names by index. */
  readonly functions: readonly KernelFunction[];
  /** `functions`' export names, in the same order. */
  readonly names: readonly string[];
}

/** The exports of `instance` (of `module`) as threads run them. */
export function shareKernels(module: WebAssembly.Module, instance: WebAssembly.Instance): ShareKernels {
  const exports = instance.exports as Record<string, KernelFunction>;
  const names = WebAssembly.Module.exports(module)
    .filter((entry) => entry.kind === 'function')
    .map((entry) => entry.name);
  const functions = names.map((name) => exports[name]!);
  return { kernels: instance.exports as unknown as SharedKernels, functions, names };
}

/**
 * A `ranged` call's arguments: function `index` of the module's exports, called as f(...params, from, to) on slices of
 * [0, count) in steps of `granularity` (0 … count · granularity).
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

/**
 * The units a call's work is divided into, each computed by one thread: a GEMM's panels of columns, an attention
 * call's (row, head) pairs, a `ranged` call's count.
 */
function callUnits(task: number, args: readonly number[]): number {
  if (task === TASKS.ranged) return args[1]!;
  if (task === TASKS.attention) return attentionPairs(args);
  return args[6]! / PANEL_COLUMNS;
}

/** Computes units [from, to) of a call on thread `thread` (0: the caller). */
function runUnits(
  { kernels, functions }: ShareKernels,
  memory: WebAssembly.Memory,
  task: number,
  args: readonly number[],
  [from, to]: readonly [number, number],
  thread: number,
): void {
  if (to <= from) return;
  if (task === TASKS.ranged) return rangedUnits(functions, args, from, to);
  if (task === TASKS.attention) return attendPairs(kernels, memory, args, from, to, thread);
  const gemm = task === TASKS.gemmRelaxed ? kernels.gemmRelaxed : kernels.gemm;
  if (!gemm) throw new Error('this module has no relaxed SIMD kernel');
  gemm(...args.slice(0, GEMM_PARAMS.length - 2), from * PANEL_COLUMNS, to * PANEL_COLUMNS);
}

/** Runs a whole call on this thread alone (thread 0). */
export function runCall(shares: ShareKernels, memory: WebAssembly.Memory, task: number, args: readonly number[]): void {
  runUnits(shares, memory, task, args, [0, callUnits(task, args)], 0);
}

function rangedUnits(functions: readonly KernelFunction[], args: readonly number[], from: number, to: number) {
  const [index, , granularity] = args as [number, number, number];
  const fn = functions[index];
  if (!fn) throw new Error(`the module has no function ${index}`);
  // Only the parameters the caller wrote: the control block's later words hold an earlier call's.
  fn(...args.slice(RANGED_HEADER, RANGED_HEADER + fn.length - 2), from * granularity, to * granularity);
}

/** How many chunks a call of `units` units is cut into for `threads` threads. */
export function chunkCount(units: number, threads: number): number {
  return Math.min(units, threads * CHUNKS_PER_THREAD, CHUNK_MASK);
}

/** Units [from, to) of chunk `chunk` of `chunks`. */
export function chunkUnits(units: number, chunks: number, chunk: number): [number, number] {
  return [Math.floor((chunk * units) / chunks), Math.floor(((chunk + 1) * units) / chunks)];
}

/**
 * Takes the next chunk of call `generation`, or −1 when none is left or that call is over. Compare-and-swap on NEXT,
 * which carries the call's tag, so a thread holding an earlier call's words takes no chunk of a later one. The tag
 * keeps 21 bits of the generation; GENERATION is checked again just before the swap, so only a thread stalled between
 * those two loads while 2 097 152 calls went by (minutes of drawing) could meet an older call's tag again.
 */
export function claimChunk(control: Int32Array, generation: number, chunks: number): number {
  const tag = tagOf(generation);
  for (;;) {
    const next = Atomics.load(control, NEXT);
    const chunk = next & CHUNK_MASK;
    if (next - chunk !== tag || chunk >= chunks) return -1;
    if (Atomics.load(control, GENERATION) !== generation) return -1;
    if (Atomics.compareExchange(control, NEXT, next, next + 1) === next) return chunk;
  }
}

/** A posted call as a thread read it. */
interface Call {
  readonly generation: number;
  readonly task: number;
  readonly args: readonly number[];
  readonly units: number;
  readonly chunks: number;
}

/**
 * Claims and computes chunks of `call` until none is left, each counted in DONE once computed or failed (a failure is
 * flagged in FAILED first, so the caller sees it once every chunk is counted); returns this thread's first error and
 * how many chunks it computed.
 */
function workOn(
  shares: ShareKernels,
  memory: WebAssembly.Memory,
  control: Int32Array,
  call: Call,
  thread: number,
): [Error | undefined, number] {
  let failure: Error | undefined;
  let computed = 0;
  for (let chunk = claimChunk(control, call.generation, call.chunks); chunk >= 0;) {
    try {
      runUnits(shares, memory, call.task, call.args, chunkUnits(call.units, call.chunks, chunk), thread);
    } catch (error) {
      failure ??= error instanceof Error ? error : new Error(String(error));
      Atomics.store(control, FAILED, 1);
    }
    computed++;
    if (Atomics.add(control, DONE, 1) + 1 === call.chunks) Atomics.notify(control, DONE);
    chunk = claimChunk(control, call.generation, call.chunks);
  }
  return [failure, computed];
}

/**
 * The call posted under `generation`, read atomically word by word: should the caller have moved on to a later call
 * meanwhile (overwriting some words), that call's tag is already in NEXT, so `claimChunk` refuses every chunk.
 */
function readCall(control: Int32Array, generation: number): Call {
  const task = Atomics.load(control, TASK);
  // Unsigned: byte offsets past 2 GiB travel through the Int32Array as negative numbers.
  const args = Array.from({ length: CONTROL_WORDS - ARGS }, (_, i) => Atomics.load(control, ARGS + i) >>> 0);
  const chunks = Atomics.load(control, CHUNKS);
  return { generation, task, args, units: callUnits(task, args), chunks };
}

/**
 * A helper thread's loop: waits for each call and computes chunks of it while any is left; returns when told to stop.
 * `onReady` runs once the kernel is instantiated (startGemmHelpers waits for every helper's before any call).
 */
export function serveGemmHelper(init: GemmHelperInit, onReady: () => void): void {
  const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
  const kernels = shareKernels(init.module, instance);
  const control = new Int32Array(init.memory.buffer, init.controlAt, CONTROL_WORDS);
  let seen = 0;
  onReady();
  for (;;) {
    spinWhile(control, GENERATION, seen);
    Atomics.wait(control, GENERATION, seen);
    const generation = Atomics.load(control, GENERATION);
    if (generation === seen) continue;
    seen = generation;
    if (Atomics.load(control, STOP) !== 0) return;
    workOn(kernels, init.memory, control, readCall(control, generation), init.thread);
  }
}

/**
 * The caller's side: posts a call cut into chunks, computes chunks itself while any is left, then waits only for
 * chunks a helper is still computing (never for a helper that has not woken).
 */
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

  /** Runs a call; returns how many of its chunks this thread computed (the rest were the helpers'). */
  run(task: KernelTask, args: readonly number[]): number {
    const { control } = this;
    if (this.broken) throw new Error('the kernel helper threads stopped answering in an earlier call');
    if (args.length > CONTROL_WORDS - ARGS) throw new Error(`a call carries at most ${CONTROL_WORDS - ARGS} words`);
    const units = callUnits(TASKS[task], args);
    if (!Number.isSafeInteger(units) || units < 0) throw new Error(`a call of ${units} units`);
    const chunks = chunkCount(units, this.threads);
    if (chunks === 0) return 0;
    const generation = (Atomics.load(control, GENERATION) + 1) | 0;
    // The new tag first: from here on no helper still holding the last call's words can claim a chunk.
    Atomics.store(control, NEXT, tagOf(generation));
    Atomics.store(control, DONE, 0);
    Atomics.store(control, TASK, TASKS[task]);
    Atomics.store(control, CHUNKS, chunks);
    args.forEach((word, i) => Atomics.store(control, ARGS + i, word));
    Atomics.store(control, GENERATION, generation);
    Atomics.notify(control, GENERATION);
    const call = { generation, task: TASKS[task], args, units, chunks };
    const [failure, computed] = workOn(this.kernels, this.memory, control, call, 0);
    // Even when a chunk failed: helpers may still be writing into the memory.
    const deadline = performance.now() + HELPER_TIMEOUT_MS;
    for (let done = Atomics.load(control, DONE); done !== chunks; done = Atomics.load(control, DONE)) {
      const left = deadline - performance.now();
      if (left <= 0) {
        this.broken = true;
        throw new Error(`${chunks - done} chunk(s) of a kernel call were never finished by a helper thread`);
      }
      spinWhile(control, DONE, done);
      if (Atomics.load(control, DONE) === done) Atomics.wait(control, DONE, done, left);
    }
    const chunkFailed = Atomics.exchange(control, FAILED, 0) !== 0;
    if (failure) throw failure;
    if (chunkFailed) throw new Error('a kernel helper thread failed its chunk');
    return computed;
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
  init: Omit<GemmHelperInit, 'thread'>,
): Promise<GemmHelper[]> {
  const helpers: GemmHelper[] = [];
  try {
    for (let thread = 1; thread < init.threads; thread++) helpers.push(spawn({ ...init, thread }));
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
