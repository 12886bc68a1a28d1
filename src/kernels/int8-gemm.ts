/**
 * Int8 linear layers on our own WebAssembly kernel (int8-gemm-kernel.ts): the weights are packed once into the
 * kernel's memory, each call rounds the activations of every row to 12-bit integers by that row's absolute maximum
 * (rows stay independent, as in the exporter's int8-activation graphs, with 16× finer steps) and multiplies exactly in
 * integers. Pure WebAssembly SIMD128 with no browser API: the same code runs in the worker, in Node and in the tests.
 */
import { CONTROL_WORDS, GemmThreads } from './gemm-threads.ts';
import type { GemmHelper, SpawnGemmHelper } from './gemm-threads.ts';
import { int8GemmFunction, K_BLOCK, PANEL_COLUMNS, packInt8Panels, padTo } from './int8-gemm-kernel.ts';
import { encodeModule } from './wasm-binary.ts';

/** Activations are rounded to this many steps each side of zero per row (12 bits). */
export const ACTIVATION_LEVELS = 2047;
/** The largest inner dimension whose sums fit the kernel's 32-bit accumulators (|x| ≤ 2047, |w| ≤ 127). */
export const MAX_IN_DIM = Math.floor(0x7fffffff / (ACTIVATION_LEVELS * 127));

/** One linear layer's weights inside the kernel's memory (byte offsets). */
export interface Int8Linear {
  readonly inDim: number;
  readonly outDim: number;
  readonly paddedIn: number;
  readonly paddedOut: number;
  readonly weightsAt: number;
  readonly scalesAt: number;
}

type GemmExport = (...args: number[]) => void;

export interface Int8GemmOptions {
  /** Threads per call, the caller's included (default 1); more need `spawnHelper` and a shared memory. */
  readonly threads?: number;
  readonly spawnHelper?: SpawnGemmHelper;
}

const PAGE = 65536;
const ALIGN = 64;

export class Int8Gemm {
  private top = ALIGN;
  private scratch = { rows: 0, width: 0, activationsAt: 0, rowScalesAt: 0, outputAt: 0 };

  private threads: GemmThreads | null = null;
  private helpers: GemmHelper[] = [];

  private constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly gemm: GemmExport,
  ) {}

  static async create(options: Int8GemmOptions = {}): Promise<Int8Gemm> {
    const threads = options.threads ?? 1;
    if (!Number.isSafeInteger(threads) || threads < 1) throw new Error(`threads must be a whole number ≥ 1`);
    if (threads > 1 && !options.spawnHelper) throw new Error('more than one thread needs spawnHelper');
    const shared = threads > 1;
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared });
    const module = await WebAssembly.compile(encodeModule({ gemm: int8GemmFunction() }, { shared }));
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    const gemm = new Int8Gemm(memory, instance.exports.gemm as GemmExport);
    if (shared) {
      const controlAt = gemm.allocate(CONTROL_WORDS * 4);
      gemm.threads = new GemmThreads(memory, controlAt, threads);
      for (let share = 1; share < threads; share++)
        gemm.helpers.push(options.spawnHelper!({ module, memory, controlAt, share, threads }));
      // The caller blocks in Atomics.wait during a call: a helper still starting might need this thread's event loop.
      await Promise.all(gemm.helpers.map((helper) => helper.ready)).catch(async (error: unknown) => {
        await gemm.release();
        throw error;
      });
    }
    return gemm;
  }

  /** Stops the helper threads (a one-thread Int8Gemm holds nothing but its memory). */
  async release(): Promise<void> {
    this.threads?.stop();
    this.threads = null;
    await Promise.all(this.helpers.map((helper) => helper.stop()));
    this.helpers = [];
  }

  private allocate(bytes: number): number {
    const at = this.top;
    this.top += padTo(bytes, ALIGN);
    const missing = this.top - this.memory.buffer.byteLength;
    if (missing > 0) this.memory.grow(Math.ceil(missing / PAGE));
    return at;
  }

  /** Packs int8 weights [inDim, outDim] (row-major) and their per-column scales. */
  addLinear(q: Int8Array, scales: Float32Array, inDim: number, outDim: number): Int8Linear {
    if (q.length !== inDim * outDim || scales.length !== outDim)
      throw new Error(`weights of ${q.length} and ${scales.length} scales do not match [${inDim}, ${outDim}]`);
    if (inDim > MAX_IN_DIM)
      throw new Error(`an inner dimension of ${inDim} would overflow the kernel (max ${MAX_IN_DIM})`);
    const paddedIn = padTo(inDim, K_BLOCK);
    const paddedOut = padTo(outDim, PANEL_COLUMNS);
    const weightsAt = this.allocate(paddedIn * paddedOut);
    const scalesAt = this.allocate(paddedOut * 4);
    packInt8Panels(q, inDim, outDim, new Int8Array(this.memory.buffer, weightsAt, paddedIn * paddedOut));
    new Float32Array(this.memory.buffer, scalesAt, paddedOut).set(scales);
    return { inDim, outDim, paddedIn, paddedOut, weightsAt, scalesAt };
  }

  private reserve(rows: number, width: number): typeof this.scratch {
    if (rows > this.scratch.rows || width > this.scratch.width) {
      const [r, w] = [Math.max(rows, this.scratch.rows), Math.max(width, this.scratch.width)];
      this.scratch = {
        rows: r,
        width: w,
        activationsAt: this.allocate(r * w * 2),
        rowScalesAt: this.allocate(r * 4),
        outputAt: this.allocate(r * w * 4),
      };
    }
    return this.scratch;
  }

  /** x [rows, inDim] · W → [rows, outDim]. */
  multiply(layer: Int8Linear, x: Float32Array, rows: number): Float32Array {
    const { inDim, outDim, paddedIn, paddedOut } = layer;
    if (x.length !== rows * inDim) throw new Error(`${x.length} activations are not ${rows} rows of ${inDim}`);
    const s = this.reserve(rows, Math.max(paddedIn, paddedOut));
    const activations = new Int16Array(this.memory.buffer, s.activationsAt, rows * paddedIn);
    const rowScales = new Float32Array(this.memory.buffer, s.rowScalesAt, rows);
    quantizeRows(x, rows, inDim, paddedIn, activations, rowScales);
    const args = [
      layer.weightsAt,
      s.activationsAt,
      layer.scalesAt,
      s.rowScalesAt,
      s.outputAt,
      rows,
      paddedOut,
      paddedIn,
    ];
    if (this.threads) this.threads.run(this.gemm, args);
    else this.gemm(...args, 0, paddedOut);
    const y = new Float32Array(this.memory.buffer, s.outputAt, rows * paddedOut);
    const result = new Float32Array(rows * outDim);
    for (let m = 0; m < rows; m++) result.set(y.subarray(m * paddedOut, m * paddedOut + outDim), m * outDim);
    return result;
  }
}

/** Each row to integers in ±ACTIVATION_LEVELS by its own absolute maximum; the padding past inDim stays 0. */
export function quantizeRows(
  x: Float32Array,
  rows: number,
  inDim: number,
  paddedIn: number,
  into: Int16Array,
  scales: Float32Array,
): void {
  for (let m = 0; m < rows; m++) {
    let max = 0;
    for (let k = m * inDim; k < (m + 1) * inDim; k++) max = Math.max(max, Math.abs(x[k]!));
    // A row of zeros gets a tiny maximum rather than a division by zero, as in the exporter's graphs.
    max = Math.max(max, 1e-30);
    const toLevels = ACTIVATION_LEVELS / max;
    scales[m] = max / ACTIVATION_LEVELS;
    for (let k = 0; k < inDim; k++) into[m * paddedIn + k] = Math.round(x[m * inDim + k]! * toLevels);
    into.fill(0, m * paddedIn + inDim, (m + 1) * paddedIn);
  }
}
