/**
 * Int8 linear layers on our own WebAssembly kernel (int8-gemm-kernel.ts): the weights are packed once into the
 * kernel's memory, each call rounds the activations of every row to 12-bit integers by that row's absolute maximum
 * (rows stay independent, as in the exporter's int8-activation graphs, with 16× finer steps) and multiplies exactly in
 * integers. Pure WebAssembly SIMD128 with no browser API: the same code runs in the worker, in Node and in the tests.
 */
import { softmaxFunction, scoresFunction, weightedFunction } from './attention-kernel.ts';
import { CONTROL_WORDS, GemmThreads, runCall, shareKernels, startGemmHelpers, TASKS } from './gemm-threads.ts';
import type { GemmHelper, KernelTask, ShareKernels, SharedKernels, SpawnGemmHelper } from './gemm-threads.ts';
import { chooseGemmKernel, KernelUnavailableError, relaxedSimdCompiles } from './gemm-kernel-choice.ts';
import type { GemmKernelChoice, GemmKernelRequest } from './gemm-kernel-choice.ts';
import type { GemmKernel } from './int8-gemm-kernel.ts';
import { newKernelMemory } from './kernel-arena.ts';
import {
  ACTIVATION_OFFSET,
  columnOffsetsFunction,
  int8GemmFunction,
  K_BLOCK,
  LIMB,
  PANEL_COLUMNS,
  packInt8Panels,
  padTo,
} from './int8-gemm-kernel.ts';
import { gluFunction, layerNormFunction, limbsFunction, quantizeFunction } from './row-kernels.ts';
import { encodeModule } from './wasm-binary.ts';

/** Activations are rounded to this many steps each side of zero per row (12 bits). */
export const ACTIVATION_LEVELS = 2047;
/** The largest inner dimension whose sums fit the kernel's 32-bit accumulators (|x| ≤ 2047, |w| ≤ 127). */
export const MAX_IN_DIM = Math.floor(0x7fffffff / (ACTIVATION_LEVELS * 127));

/** One part of a linear layer: its columns from `column` (a multiple of PANEL_COLUMNS) in the packed layer. */
export interface Int8LinearPart {
  readonly column: number;
  readonly outDim: number;
}

/**
 * One linear layer's weights inside the kernel's memory (byte offsets): one or more layers of the same input packed
 * side by side (`parts`), so that their input is rounded once and their columns shared out among threads in one call.
 */
export interface Int8Linear {
  readonly inDim: number;
  readonly paddedIn: number;
  readonly paddedOut: number;
  readonly weightsAt: number;
  readonly scalesAt: number;
  readonly parts: readonly Int8LinearPart[];
}

/** The int8 weights [inDim, outDim] (row-major, as the exporter stores them) and per-column scales of one layer. */
export interface Int8Weights {
  readonly q: Int8Array;
  readonly scales: Float32Array;
  readonly outDim: number;
}

type Kernel = (...args: number[]) => void;
interface Kernels extends SharedKernels {
  readonly glu: Kernel;
  readonly layerNorm: Kernel;
  /** With `gemmRelaxed` only. */
  readonly limbs?: Kernel;
  readonly columnOffsets?: Kernel;
}

/** A LayerNormalization's scale and bias in the kernels' memory (byte offsets), zero past `width`. */
export interface RowNorm {
  readonly width: number;
  readonly padded: number;
  readonly scaleAt: number;
  readonly biasAt: number;
}

export interface Int8GemmOptions {
  /** Threads per call, the caller's included (default 1); more need `spawnHelper` and a shared memory. */
  readonly threads?: number;
  readonly spawnHelper?: SpawnGemmHelper;
  /** Which GEMM kernel runs the products (gemm-kernel-choice.ts; default `fastest`). */
  readonly kernel?: GemmKernelRequest;
}

const PAGE = 65536;
const ALIGN = 64;

export class Int8Gemm {
  private top = ALIGN;
  private scratch = { rows: 0, width: 0, inputAt: 0, activationsAt: 0, rowScalesAt: 0, outputAt: 0 };
  /** The widest input or output of any layer or norm placed so far (what a call's working memory spans). */
  private widest = 0;

  private threads: GemmThreads | null = null;
  /** A few floats the kernels read their float parameters from. */
  private paramsAt = 0;
  private helpers: GemmHelper[] = [];
  /** The first `fastest` choice on this thread, which later Int8Gemms take (the encoder's and the decoder's). */
  private static measured: GemmKernelChoice | undefined;
  /** Null while create measures the kernels. */
  private choice: GemmKernelChoice | null = null;

  private constructor(
    /** The kernels' memory: the packed weights, and the attention's places (attention.ts). */
    readonly memory: WebAssembly.Memory,
    private readonly kernels: Kernels,
    /** The same kernels as threads run them (gemm-threads.ts). */
    private readonly shares: ShareKernels,
  ) {}

  static async create(options: Int8GemmOptions = {}): Promise<Int8Gemm> {
    const threads = options.threads ?? 1;
    if (!Number.isSafeInteger(threads) || threads < 1) throw new Error(`threads must be a whole number ≥ 1`);
    if (threads > 1 && !options.spawnHelper) throw new Error('more than one thread needs spawnHelper');
    const shared = threads > 1;
    const memory = newKernelMemory(shared);
    const request = options.kernel ?? 'fastest';
    const relaxed = request !== 'dot16' && relaxedSimdCompiles();
    if (request === 'relaxed' && !relaxed) throw new KernelUnavailableError('relaxed SIMD does not compile here');
    const functions = {
      gemm: int8GemmFunction(),
      quantize: quantizeFunction(),
      glu: gluFunction(),
      scores: scoresFunction(),
      weighted: weightedFunction(),
      softmax: softmaxFunction(),
      layerNorm: layerNormFunction(),
      ...(relaxed
        ? { gemmRelaxed: int8GemmFunction('relaxed'), limbs: limbsFunction(), columnOffsets: columnOffsetsFunction() }
        : {}),
    };
    const module = await WebAssembly.compile(encodeModule(functions, { shared }));
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    const gemm = new Int8Gemm(memory, instance.exports as unknown as Kernels, shareKernels(module, instance));
    gemm.paramsAt = gemm.allocate(16);
    if (shared) {
      const controlAt = gemm.allocate(CONTROL_WORDS * 4);
      gemm.threads = new GemmThreads(memory, gemm.shares, controlAt, threads);
      try {
        gemm.helpers = await startGemmHelpers(options.spawnHelper!, { module, memory, controlAt, threads });
      } catch (error) {
        await gemm.release();
        throw error;
      }
    }
    try {
      if (!relaxed)
        gemm.choice = { kernel: 'dot16', reason: request === 'dot16' ? 'asked for' : 'no relaxed SIMD here' };
      else if (request === 'relaxed') gemm.choice = { kernel: 'relaxed', reason: 'asked for' };
      else gemm.choice = Int8Gemm.measured ??= gemm.measureKernels();
    } catch (error) {
      // E.g. no memory for the measurement's layer: the helpers must not outlive this Int8Gemm.
      await gemm.release();
      throw error;
    }
    return gemm;
  }

  /** The GEMM kernel this Int8Gemm runs, and why. */
  get kernel(): GemmKernelChoice {
    return this.choice ?? { kernel: 'dot16', reason: 'being measured' };
  }

  /** chooseGemmKernel on a layer of 9 images' rows (where the kernels differ most), placed for the purpose. */
  private measureKernels(): GemmKernelChoice {
    const [rows, inDim, outDim] = [18, 1024, 128];
    let seed = 1;
    const q = Int8Array.from(
      { length: inDim * outDim },
      () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24) - 128,
    );
    const layer = this.addLinear(q, new Float32Array(outDim).fill(1 / 128), inDim, outDim);
    const x = Float32Array.from({ length: rows * inDim }, (_, i) => Math.sin(i * 0.37));
    // On this thread alone: what is measured is the kernels, not the meetings of threads around a call this small.
    return chooseGemmKernel((kernel) => this.product(layer, x, rows, kernel, 'this one'));
  }

  /** Stops the helper threads (a one-thread Int8Gemm holds nothing but its memory). */
  async release(): Promise<void> {
    this.threads?.stop();
    this.threads = null;
    await Promise.all(this.helpers.map((helper) => helper.stop()));
    this.helpers = [];
  }

  /** Threads a call is shared among (the caller's included). */
  get threadCount(): number {
    return this.helpers.length + 1;
  }

  /** Runs a call on every thread, each taking chunks of it (gemm-threads.ts). */
  runTask(task: KernelTask, args: readonly number[]): void {
    if (this.threads) this.threads.run(task, args);
    else runCall(this.shares, this.memory, TASKS[task], args);
  }

  /**
   * Rounds rows of floats in the kernels' memory to int16 levels on this thread (the `quantize` kernel: rows `width`
   * apart in, `intoStride` int16s apart out, scales `scaleStride` floats apart): attention.ts's cache slots.
   */
  roundRows(
    xAt: number,
    rows: number,
    width: number,
    levels: number,
    into: { readonly at: number; readonly stride: number },
    scales: { readonly at: number; readonly stride: number },
  ): void {
    this.kernels.quantize(xAt, rows, width, levels, into.at, into.stride, scales.at, scales.stride);
  }

  /** Reserves bytes in the kernels' memory (64-byte aligned; never freed). */
  allocate(bytes: number): number {
    const at = this.top;
    this.top += padTo(bytes, ALIGN);
    const missing = this.top - this.memory.buffer.byteLength;
    if (missing > 0) this.memory.grow(Math.ceil(missing / PAGE));
    return at;
  }

  /** Packs int8 weights [inDim, outDim] (row-major) and their per-column scales. */
  addLinear(q: Int8Array, scales: Float32Array, inDim: number, outDim: number): Int8Linear {
    return this.addLinears(inDim, [{ q, scales, outDim }]);
  }

  /** Packs layers of one input side by side: `multiplyParts` returns their outputs in this order. */
  addLinears(inDim: number, layers: readonly Int8Weights[]): Int8Linear {
    for (const { q, scales, outDim } of layers) {
      if (q.length !== inDim * outDim || scales.length !== outDim)
        throw new Error(`weights of ${q.length} and ${scales.length} scales do not match [${inDim}, ${outDim}]`);
    }
    if (inDim > MAX_IN_DIM)
      throw new Error(`an inner dimension of ${inDim} would overflow the kernel (max ${MAX_IN_DIM})`);
    const paddedIn = padTo(inDim, K_BLOCK);
    const parts: Int8LinearPart[] = [];
    let paddedOut = 0;
    for (const { outDim } of layers) {
      parts.push({ column: paddedOut, outDim });
      paddedOut += padTo(outDim, PANEL_COLUMNS);
    }
    this.widest = Math.max(this.widest, paddedIn, paddedOut);
    const weightsAt = this.allocate(paddedIn * paddedOut);
    // The scales, then `relaxed`'s column offsets.
    const scalesAt = this.allocate(paddedOut * 8);
    layers.forEach(({ q, scales, outDim }, i) => {
      const { column } = parts[i]!;
      const panels = new Int8Array(
        this.memory.buffer,
        weightsAt + column * paddedIn,
        padTo(outDim, PANEL_COLUMNS) * paddedIn,
      );
      packInt8Panels(q, inDim, outDim, panels);
      new Float32Array(this.memory.buffer, scalesAt + 4 * column, outDim).set(scales);
      // Only where `relaxed` may run.
      if (this.kernels.columnOffsets && this.choice?.kernel !== 'dot16') {
        const at = weightsAt + column * paddedIn;
        this.kernels.columnOffsets(at, padTo(outDim, PANEL_COLUMNS), paddedIn, scalesAt + 4 * (paddedOut + column));
      }
    });
    return { inDim, paddedIn, paddedOut, weightsAt, scalesAt, parts };
  }

  /**
   * Reserves the calls' working memory for `rows` rows of every layer and norm placed so far, so that calls of up to
   * that many rows never grow it (grown, the smaller regions before stay allocated and unused).
   */
  reserveRows(rows: number): void {
    this.reserve(rows, this.widest);
  }

  private reserve(rows: number, width: number): typeof this.scratch {
    if (rows > this.scratch.rows || width > this.scratch.width) {
      const [r, w] = [Math.max(rows, this.scratch.rows), Math.max(width, this.scratch.width)];
      this.scratch = {
        rows: r,
        width: w,
        inputAt: this.allocate(r * w * 4),
        activationsAt: this.allocate(r * w * 2),
        rowScalesAt: this.allocate(r * 4),
        outputAt: this.allocate(r * w * 4),
      };
    }
    return this.scratch;
  }

  /** Places a LayerNormalization's scale and bias [width]. */
  addNorm(scale: Float32Array, bias: Float32Array): RowNorm {
    const width = scale.length;
    if (bias.length !== width) throw new Error(`a norm of ${width} scales has ${bias.length} biases`);
    const padded = padTo(width, 4);
    this.widest = Math.max(this.widest, padded);
    const [scaleAt, biasAt] = [this.allocate(4 * padded), this.allocate(4 * padded)];
    const floats = new Float32Array(this.memory.buffer);
    floats.set(scale, scaleAt / 4);
    floats.set(bias, biasAt / 4);
    return { width, padded, scaleAt, biasAt };
  }

  /**
   * LayerNormalization of the rows of x [rows, width] (the layerNorm kernel: float32, SIMD), into `into` when given
   * (rows × width floats; may not be x), else a new array. So for every product below.
   */
  layerNorm(norm: RowNorm, x: Float32Array, rows: number, eps: number, into?: Float32Array): Float32Array {
    const { width, padded } = norm;
    const s = this.reserve(rows, padded);
    this.stage(x, rows, width, padded, s.inputAt);
    new Float32Array(this.memory.buffer, this.paramsAt, 1)[0] = eps;
    this.kernels.layerNorm(s.inputAt, s.inputAt, rows, width, padded, norm.scaleAt, norm.biasAt, this.paramsAt);
    const y = new Float32Array(this.memory.buffer, s.inputAt, rows * padded);
    return this.copyOut(y, padded, { column: 0, outDim: width }, rows, into);
  }

  /** Copies rows of `width` into the kernels' memory at `at`, `padded` apart, zeros past `width`. */
  private stage(x: Float32Array, rows: number, width: number, padded: number, at: number): void {
    if (x.length !== rows * width) throw new Error(`${x.length} activations are not ${rows} rows of ${width}`);
    const input = new Float32Array(this.memory.buffer, at, rows * padded);
    if (padded === width) input.set(x);
    else {
      for (let m = 0; m < rows; m++) {
        input.set(x.subarray(m * width, (m + 1) * width), m * padded);
        input.fill(0, m * padded + width, (m + 1) * padded);
      }
    }
  }

  /** x [rows, inDim] · W → [rows, outDim] for a layer of one part. */
  multiply(layer: Int8Linear, x: Float32Array, rows: number, into?: Float32Array): Float32Array {
    if (layer.parts.length !== 1) throw new Error(`a layer of ${layer.parts.length} parts needs multiplyParts`);
    return this.copyOut(this.product(layer, x, rows), layer.paddedOut, layer.parts[0]!, rows, into);
  }

  /** x [rows, inDim] · each part's W → one [rows, outDim] per part (into `into`'s arrays when given, else new ones). */
  multiplyParts(layer: Int8Linear, x: Float32Array, rows: number, into?: readonly Float32Array[]): Float32Array[] {
    const y = this.product(layer, x, rows);
    return layer.parts.map((part, i) => this.copyOut(y, layer.paddedOut, part, rows, into?.[i]));
  }

  /** GELU(x · W_gate) · (x · W_up) for a layer packed from [gate, up] (the GLU's fc0 and fc1). */
  multiplyGlu(layer: Int8Linear, x: Float32Array, rows: number, into?: Float32Array): Float32Array {
    const [gate, up] = layer.parts;
    if (layer.parts.length !== 2 || gate!.outDim !== up!.outDim)
      throw new Error('a GLU layer is two parts of one size');
    const y = this.product(layer, x, rows);
    this.kernels.glu(y.byteOffset, rows, layer.paddedOut, padTo(gate!.outDim, 4), up!.column);
    return this.copyOut(y, layer.paddedOut, gate!, rows, into);
  }

  /** The padded product [rows, paddedOut] in the kernel's memory (valid until the next call). */
  private product(
    layer: Int8Linear,
    x: Float32Array,
    rows: number,
    // Positional, not an options object: ≈ 100 calls a decoder step.
    kernel: GemmKernel = this.kernel.kernel,
    threads: 'all' | 'this one' = 'all',
  ): Float32Array {
    const { inDim, paddedIn, paddedOut } = layer;
    const s = this.reserve(rows, Math.max(paddedIn, paddedOut));
    this.stage(x, rows, inDim, paddedIn, s.inputAt);
    this.kernels.quantize(s.inputAt, rows, paddedIn, ACTIVATION_LEVELS, s.activationsAt, paddedIn, s.rowScalesAt, 1);
    if (kernel === 'relaxed') this.kernels.limbs!(s.activationsAt, rows * paddedIn);
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
    const task = kernel === 'relaxed' ? 'gemmRelaxed' : 'gemm';
    if (threads === 'this one') runCall(this.shares, this.memory, TASKS[task], args);
    else this.runTask(task, args);
    return new Float32Array(this.memory.buffer, s.outputAt, rows * paddedOut);
  }

  /** Columns [column, column + outDim) of rows `stride` apart, as rows of their own. */
  private copyOut(
    y: Float32Array,
    stride: number,
    part: Int8LinearPart,
    rows: number,
    into?: Float32Array,
  ): Float32Array {
    const { column, outDim } = part;
    if (into && into.length !== rows * outDim)
      throw new Error(`an output of ${into.length} is not ${rows} × ${outDim}`);
    const out = into ?? new Float32Array(rows * outDim);
    for (let m = 0; m < rows; m++) {
      const from = m * stride + column;
      out.set(y.subarray(from, from + outDim), m * outDim);
    }
    return out;
  }
}

/**
 * Each row to integers in ±ACTIVATION_LEVELS by its own absolute maximum, exactly as the `quantize` kernel does
 * (float32 arithmetic, ties to even); the padding past inDim stays 0. The kernel's specification in the tests.
 */
export function quantizeRows(
  x: Float32Array,
  rows: number,
  inDim: number,
  paddedIn: number,
  into: Int16Array,
  scales: Float32Array,
): void {
  const f = Math.fround;
  for (let m = 0; m < rows; m++) {
    let max = 0;
    for (let k = m * inDim; k < (m + 1) * inDim; k++) max = Math.max(max, Math.abs(x[k]!));
    max = Math.max(max, f(1e-30));
    const toLevels = f(ACTIVATION_LEVELS / max);
    scales[m] = max / ACTIVATION_LEVELS;
    for (let k = 0; k < inDim; k++) into[m * paddedIn + k] = roundHalfEven(f(x[m * inDim + k]! * toLevels));
    into.fill(0, m * paddedIn + inDim, (m + 1) * paddedIn);
  }
}

/**
 * Rounded activations (whole blocks of K_BLOCK) as the relaxed kernel reads them, exactly as the `limbs` kernel writes
 * them in place: per block, the low 6 bits of u = q + ACTIVATION_OFFSET for its 4 k, then the high 6 bits.
 */
export function toLimbs(levels: Int16Array): Uint8Array {
  const out = new Uint8Array(levels.length * 2);
  for (let k = 0; k < levels.length; k++) {
    const u = levels[k]! + ACTIVATION_OFFSET;
    const at = 2 * (k - (k % K_BLOCK)) + (k % K_BLOCK);
    out[at] = u % LIMB;
    out[at + K_BLOCK] = Math.floor(u / LIMB);
  }
  return out;
}

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
