/**
 * The VQGAN decoder on our float kernels (docs/performance.md#the-vqgan-on-our-kernels): codes → pixels
 * [images, outCh, R, R] as the exporter's graph computes them (tools/exporter/graphs/vqgan.ts), one image at a time.
 * Maps live channels last in padded buffers of one KernelArena (winograd-conv.ts), so every 3×3 convolution reads its
 * input where the layer before wrote it; 1×1 convolutions and the attention's products run on the float GEMM, the
 * small glue (the codebook lookup, the attention's softmax, upsampling) in TypeScript. Every kernel call can be shared
 * among threads (KernelModule.run); the glue runs on the caller's.
 */
import type { VqganConfig } from '../model/config.ts';
import { vqganGridSize, vqganLevelChannels } from '../model/config.ts';
import { vqganConv3x3s, vqganLevels } from '../model/vqgan-levels.ts';
import type { VqganConv3x3 } from '../model/vqgan-levels.ts';
import { shippedWinogradTile } from '../model/winograd-transforms.ts';
import { f32GemmFunction, f32PanelFloats, packF32Panels, runF32Gemm } from './f32-gemm-kernel.ts';
import type { F32Product } from './f32-gemm-kernel.ts';
import { CONTROL_WORDS } from './gemm-threads.ts';
import type { SpawnGemmHelper } from './gemm-threads.ts';
import { KernelModule } from './kernel-module.ts';
import { groupNormScratchFloats, OwnGroupNorm } from './group-norm.ts';
import { KernelArena } from './kernel-arena.ts';
import { convScratchFloats, OwnConv3x3 } from './winograd-conv.ts';
import type { ConvScratch } from './winograd-conv.ts';
import { paddedSide } from './winograd-kernels.ts';
import type { ConvTensors, VqganTensors } from './vqgan-tensors.ts';
import { padTo } from './int8-gemm-kernel.ts';

/** Where a size × size map of `channels` sits in a padded buffer. */
class MapGeometry {
  readonly side: number;
  constructor(
    readonly size: number,
    readonly channels: number,
  ) {
    this.side = paddedSide({ m: shippedWinogradTile(size), size });
  }
  /** Bytes from one row to the next. */
  get row(): number {
    return 4 * this.side * this.channels;
  }
  /** Byte offset of pixel (0, 0) from the buffer's start. */
  get interior(): number {
    return 4 * (this.side + 1) * this.channels;
  }
  get floats(): number {
    return this.side * this.side * this.channels;
  }
}

/** A padded map buffer; `shape` is what it holds now (its border is zero for that shape). */
interface MapBuffer {
  readonly at: number;
  shape: MapGeometry | null;
  free: boolean;
}

/** The decoder's float GEMM (f32-gemm-kernel.ts): weights, x, bias, y (byte offsets), M rows, N columns, K. */
type Gemm = (wp: number, x: number, bias: number, y: number, M: number, N: number, K: number) => void;

/** A 1×1 convolution: the float GEMM over pixels, weights packed as [in, out] panels. */
class OwnConv1x1 {
  private readonly panelsAt: number;
  private readonly biasAt: number;
  readonly outputs: number;
  readonly channels: number;

  constructor(
    arena: KernelArena,
    private readonly gemm: Gemm,
    t: ConvTensors,
    scale = 1,
  ) {
    [this.channels, this.outputs] = [t.channels, t.outputs];
    if (t.size !== 1 || t.outputs % 8 !== 0)
      throw new Error('a 1×1 convolution on our kernels needs outputs in eights');
    const w = new Float32Array(t.channels * t.outputs);
    for (let o = 0; o < t.outputs; o++)
      for (let c = 0; c < t.channels; c++) w[c * t.outputs + o] = t.kernel[o * t.channels + c]! * scale;
    this.panelsAt = arena.alloc(4 * f32PanelFloats(t.channels, t.outputs));
    packF32Panels(w, t.channels, t.outputs, arena.floats(this.panelsAt, f32PanelFloats(t.channels, t.outputs)));
    this.biasAt = arena.alloc(4 * t.outputs);
    arena.floats(this.biasAt, t.outputs).set(t.bias.map((b) => b * scale));
  }

  /** `rows` pixels, contiguous at x (channels each) → contiguous at y (outputs each). */
  run(x: number, y: number, rows: number): void {
    this.gemm(this.panelsAt, x, this.biasAt, y, rows, this.outputs, this.channels);
  }

  /** Every row of a map: from x's interior into y's (different geometries, the same size). */
  runMap(x: number, from: MapGeometry, y: number, to: MapGeometry): void {
    for (let r = 0; r < from.size; r++)
      this.run(x + from.interior + r * from.row, y + to.interior + r * to.row, from.size);
  }
}

interface ResBlock {
  readonly norm1: OwnGroupNorm;
  readonly conv1: OwnConv3x3;
  readonly norm2: OwnGroupNorm;
  readonly conv2: OwnConv3x3;
  readonly shortcut: OwnConv1x1 | null;
  readonly size: number;
  readonly cin: number;
  readonly cout: number;
}

interface AttnBlock {
  readonly norm: OwnGroupNorm;
  readonly q: OwnConv1x1;
  readonly k: OwnConv1x1;
  readonly v: OwnConv1x1;
  readonly proj: OwnConv1x1;
  readonly size: number;
  readonly channels: number;
}

type Step =
  | { readonly kind: 'res'; readonly block: ResBlock }
  | { readonly kind: 'attn'; readonly block: AttnBlock }
  | { readonly kind: 'upsample'; readonly conv: OwnConv3x3; readonly size: number; readonly channels: number };

/**
 * Buffers a decode holds at once at most: a residual block's input, its second norm's output, its shortcut and its
 * output (the first norm's and convolution's are given back before).
 */
const MAP_BUFFERS = 4;
/** Pieces of the attention's scratch: normed map, q, k, v, scores, mixed values, projection. */
const ATTENTION_PIECES = 7;
const CONV_OUT = 'decoder/conv_out';

/** How OwnVqgan.create builds a decoder. */
export interface OwnVqganOptions {
  /** How the float GEMM multiplies (default `mul-add`). */
  readonly product?: F32Product;
  /** Threads each kernel call is shared among, this one included (default 1); more need `spawnHelper`. */
  readonly threads?: number;
  readonly spawnHelper?: SpawnGemmHelper;
  /** Where given, helpers that do not start leave the decoder on this thread and are reported here (else: thrown). */
  readonly onThreadsFailed?: (error: unknown) => void;
}

export class OwnVqgan {
  private readonly arena: KernelArena;
  /** Every kernel of the decoder, compiled once all its layers are built. */
  private readonly module = new KernelModule();
  private readonly gemmName: string;
  /** The float GEMM (f32-gemm-kernel.ts), once the module is built. */
  private readonly gemm: Gemm = (...args) => runF32Gemm(this.module, this.gemmName, ...args);
  private readonly grid: number;
  private readonly codebook: Float32Array;
  private readonly postQuant: OwnConv1x1;
  private readonly convIn: OwnConv3x3;
  private readonly steps: readonly Step[];
  private readonly normOut: OwnGroupNorm;
  private readonly convOut: OwnConv3x3;
  /** conv_out's outputs rounded up to 4: the channels of each pixel it writes. */
  private readonly outStride: number;
  private readonly scratch: ConvScratch & { readonly norm: number };
  private readonly buffers: MapBuffer[] = [];
  private readonly at: Record<'codes' | 'out' | 'attention', number>;
  private readonly attentionFloats: number;

  /** Where helper threads meet (gemm-threads.ts), in a shared memory; 0 on one thread. */
  private readonly controlAt: number;

  /**
   * Builds the decoder from `tensors` (read once: the result keeps its own float32 copies in its memory), starts its
   * helper threads.
   */
  static async create(config: VqganConfig, tensors: VqganTensors, options: OwnVqganOptions = {}): Promise<OwnVqgan> {
    const threads = options.threads ?? 1;
    if (!Number.isSafeInteger(threads) || threads < 1) throw new Error('threads must be a whole number ≥ 1');
    if (threads > 1 && !options.spawnHelper) throw new Error('more than one thread needs spawnHelper');
    const vqgan = new OwnVqgan(config, tensors, options.product ?? 'mul-add', threads > 1);
    if (options.spawnHelper && threads > 1)
      await vqgan.module.startThreads(threads, options.spawnHelper, vqgan.controlAt).catch((error: unknown) => {
        if (!options.onThreadsFailed) throw error;
        options.onThreadsFailed(error);
      });
    return vqgan;
  }

  private constructor(
    private readonly config: VqganConfig,
    tensors: VqganTensors,
    private readonly product: F32Product,
    shared: boolean,
  ) {
    const arena = (this.arena = new KernelArena(shared));
    this.controlAt = shared ? arena.alloc(4 * CONTROL_WORDS) : 0;
    this.gemmName = this.module.add(`gemm_${product}`, () => f32GemmFunction(product));
    this.grid = vqganGridSize(config);
    this.codebook = tensors.codebook();
    this.outStride = padTo(config.outCh, 4);
    const convs = vqganConv3x3s(config).map((conv) =>
      conv.path === CONV_OUT ? { ...conv, outputs: this.outStride } : conv,
    );
    this.scratch = this.allocateScratch(convs);
    this.postQuant = new OwnConv1x1(arena, this.gemm, tensors.conv('post_quant_conv'));
    this.convIn = this.conv3x3(tensors.conv('decoder/conv_in'), this.grid);
    const top = vqganLevelChannels(config, config.chMult.length - 1);
    const steps: Step[] = [];
    const resBlock = (prefix: string, cin: number, cout: number, size: number) =>
      steps.push({ kind: 'res', block: this.resBlock(tensors, prefix, cin, cout, size) });
    const attnBlock = (prefix: string, channels: number, size: number) =>
      steps.push({ kind: 'attn', block: this.attnBlock(tensors, prefix, channels, size) });
    resBlock('decoder/mid/block_1', top, top, this.grid);
    attnBlock('decoder/mid/attn_1', top, this.grid);
    resBlock('decoder/mid/block_2', top, top, this.grid);
    for (const level of vqganLevels(config)) {
      level.blocks.forEach((block, i) => {
        resBlock(block.prefix, block.cin, block.cout, level.resolution);
        const attention = level.attentions[i];
        if (attention) attnBlock(attention, block.cout, level.resolution);
      });
      const upsample = level.upsample;
      if (upsample) {
        const [channels, size] = [vqganLevelChannels(config, level.level), 2 * level.resolution];
        steps.push({ kind: 'upsample', conv: this.conv3x3(tensors.conv(upsample), size), size, channels });
      }
    }
    this.steps = steps;
    const base = vqganLevelChannels(config, 0);
    this.normOut = this.groupNorm(tensors, 'decoder/norm_out', config.resolution, base, true);
    this.convOut = this.conv3x3(widened(tensors.conv(CONV_OUT), this.outStride), config.resolution);
    // Every map a decode holds: each convolution's input and output, and the codes' map.
    const maps = convs.flatMap(({ size, channels, outputs }) => [
      new MapGeometry(size, channels),
      new MapGeometry(size, outputs),
    ]);
    maps.push(new MapGeometry(this.grid, config.zChannels));
    const largest = Math.max(...maps.map((g) => g.floats));
    for (let i = 0; i < MAP_BUFFERS; i++) this.buffers.push({ at: arena.alloc(4 * largest), shape: null, free: true });
    // Each piece of an attention's scratch holds [pixels (padded to 8), max(channels, pixels padded)].
    const attentions = steps.flatMap((step) => (step.kind === 'attn' ? [step.block] : []));
    this.attentionFloats = Math.max(
      0,
      ...attentions.map(({ size, channels }) => padTo(size * size, 8) * Math.max(channels, padTo(size * size, 8))),
    );
    this.at = {
      codes: arena.alloc(4 * this.grid ** 2 * config.embedDim),
      out: arena.alloc(4 * config.resolution ** 2 * this.outStride),
      attention: arena.alloc(4 * ATTENTION_PIECES * this.attentionFloats),
    };
    this.module.build(arena.memory);
  }

  /** Threads each kernel call is shared among (this one included). */
  get threadCount(): number {
    return this.module.threadCount;
  }

  /** Bytes of the memory the decoder holds (weights, scratch, buffers): all of it from creation on. */
  get memoryBytes(): number {
    return this.arena.memory.buffer.byteLength;
  }

  /** Stops the helper threads (the decoder still runs, on this thread). */
  release(): Promise<void> {
    return this.module.release();
  }

  private allocateScratch(convs: readonly VqganConv3x3[]): ConvScratch & { readonly norm: number } {
    let [filters, operands, products, widest] = [0, 0, 0, 0];
    for (const { size, channels, outputs } of convs) {
      const shape = { m: shippedWinogradTile(size), size };
      const floats = convScratchFloats(shape, channels, outputs);
      filters = Math.max(filters, floats.filters);
      [operands, products] = [Math.max(operands, floats.operands), Math.max(products, floats.products)];
      widest = Math.max(widest, channels, outputs);
    }
    // The zero bias of every product: as wide as the widest layer, or as an attention's pixels (at most a full map).
    const pixels = padTo(this.config.resolution ** 2, 8);
    const { arena } = this;
    return {
      filters: arena.alloc(4 * filters),
      operands: arena.alloc(4 * operands),
      products: arena.alloc(4 * products),
      zeros: arena.alloc(4 * Math.max(widest, pixels)),
      norm: arena.alloc(4 * groupNormScratchFloats(widest)),
    };
  }

  private conv3x3(t: ConvTensors, size: number): OwnConv3x3 {
    if (t.size !== 3) throw new Error(`expected a 3×3 convolution, got ${t.size}×${t.size}`);
    const weights = { kernel: t.kernel, bias: t.bias, channels: t.channels, outputs: t.outputs };
    const shape = { m: shippedWinogradTile(size), size };
    const conv = new OwnConv3x3(this.arena, this.module, weights, shape, this.scratch, this.product);
    return conv;
  }

  private groupNorm(tensors: VqganTensors, path: string, size: number, channels: number, swish: boolean) {
    const { scale, bias } = tensors.norm(path);
    return new OwnGroupNorm(this.module, this.arena.memory, this.scratch.norm, scale, bias, size, channels, swish);
  }

  private resBlock(tensors: VqganTensors, prefix: string, cin: number, cout: number, size: number): ResBlock {
    return {
      norm1: this.groupNorm(tensors, `${prefix}/norm1`, size, cin, true),
      conv1: this.conv3x3(tensors.conv(`${prefix}/conv1`), size),
      norm2: this.groupNorm(tensors, `${prefix}/norm2`, size, cout, true),
      conv2: this.conv3x3(tensors.conv(`${prefix}/conv2`), size),
      shortcut: cin !== cout ? new OwnConv1x1(this.arena, this.gemm, tensors.conv(`${prefix}/nin_shortcut`)) : null,
      size,
      cin,
      cout,
    };
  }

  private attnBlock(tensors: VqganTensors, prefix: string, channels: number, size: number): AttnBlock {
    const conv1x1 = (name: string, scale = 1) =>
      new OwnConv1x1(this.arena, this.gemm, tensors.conv(`${prefix}/${name}`), scale);
    return {
      norm: this.groupNorm(tensors, `${prefix}/norm`, size, channels, false),
      // The scores' 1/√C folded into the queries.
      q: conv1x1('q', 1 / Math.sqrt(channels)),
      k: conv1x1('k'),
      v: conv1x1('v'),
      proj: conv1x1('proj_out'),
      size,
      channels,
    };
  }

  /** A free buffer holding a `size` × `size` map of `channels`, its border zero. */
  private take(shape: MapGeometry): MapBuffer {
    const buffer = this.buffers.find((b) => b.free);
    if (!buffer) throw new Error('our VQGAN ran out of map buffers');
    buffer.free = false;
    const same = buffer.shape && buffer.shape.size === shape.size && buffer.shape.channels === shape.channels;
    if (!same) {
      const heap = this.arena.floats(buffer.at, shape.floats);
      const { side, size, channels: C } = shape;
      heap.fill(0, 0, (side + 1) * C);
      for (let r = 1; r <= size; r++) heap.fill(0, (r * side + size + 1) * C, ((r + 1) * side + 1) * C);
      heap.fill(0, (size + 1) * side * C, side * side * C);
    }
    buffer.shape = shape;
    return buffer;
  }

  private give(...buffers: MapBuffer[]): void {
    for (const b of buffers) b.free = true;
  }

  /** pixels [images, outCh, R, R] for codes [images, grid²]. */
  decode(codes: ArrayLike<number | bigint>, images: number): Float32Array {
    const { config } = this;
    const R = config.resolution;
    const channels = config.outCh;
    const pixels = new Float32Array(images * channels * R * R);
    for (let n = 0; n < images; n++) {
      const out = this.decodeOne(codes, n);
      for (let c = 0; c < channels; c++)
        for (let p = 0; p < R * R; p++) pixels[(n * channels + c) * R * R + p] = out[p * this.outStride + c]!;
    }
    return pixels;
  }

  private decodeOne(codes: ArrayLike<number | bigint>, n: number): Float32Array {
    const { config, grid } = this;
    const dims = config.embedDim;
    const gathered = this.arena.floats(this.at.codes, grid * grid * dims);
    for (let p = 0; p < grid * grid; p++) {
      const code = Number(codes[n * grid * grid + p]!);
      if (!Number.isInteger(code) || code < 0 || code >= config.nEmbed)
        throw new RangeError(`code ${code} is no VQGAN code`);
      gathered.set(this.codebook.subarray(code * dims, (code + 1) * dims), p * dims);
    }
    const top = vqganLevelChannels(config, config.chMult.length - 1);
    const quantized = new MapGeometry(grid, config.zChannels);
    let x = this.take(quantized);
    for (let r = 0; r < grid; r++)
      this.postQuant.run(this.at.codes + 4 * r * grid * dims, x.at + quantized.interior + r * quantized.row, grid);
    const first = new MapGeometry(grid, top);
    const y = this.take(first);
    this.convIn.compute(x.at, y.at + first.interior, first.row);
    this.give(x);
    x = y;
    for (const step of this.steps) {
      if (step.kind === 'res') x = this.runResBlock(x, step.block);
      else if (step.kind === 'attn') x = this.runAttention(x, step.block);
      else x = this.runUpsample(x, step.size, step.channels, step.conv);
    }
    const base = new MapGeometry(config.resolution, vqganLevelChannels(config, 0));
    const h = this.take(base);
    this.normOut.run(x.at + base.interior, base.row, h.at + base.interior, base.row);
    this.give(x);
    this.convOut.compute(h.at, this.at.out, 4 * this.outStride * config.resolution);
    this.give(h);
    return this.arena.floats(this.at.out, config.resolution ** 2 * this.outStride);
  }

  private runResBlock(x: MapBuffer, block: ResBlock): MapBuffer {
    const [input, output] = [new MapGeometry(block.size, block.cin), new MapGeometry(block.size, block.cout)];
    const h = this.take(input);
    block.norm1.run(x.at + input.interior, input.row, h.at + input.interior, input.row);
    const h2 = this.take(output);
    block.conv1.compute(h.at, h2.at + output.interior, output.row);
    this.give(h);
    const h3 = this.take(output);
    block.norm2.run(h2.at + output.interior, output.row, h3.at + output.interior, output.row);
    this.give(h2);
    let shortcut = x;
    if (block.shortcut) {
      shortcut = this.take(output);
      block.shortcut.runMap(x.at, input, shortcut.at, output);
    }
    const out = this.take(output);
    block.conv2.compute(h3.at, out.at + output.interior, output.row, shortcut.at + output.interior);
    this.give(h3, shortcut, x);
    return out;
  }

  private runAttention(x: MapBuffer, block: AttnBlock): MapBuffer {
    const map = new MapGeometry(block.size, block.channels);
    const C = block.channels;
    const P = block.size * block.size;
    const h = this.take(map);
    block.norm.run(x.at + map.interior, map.row, h.at + map.interior, map.row);
    const piece = (i: number) => this.at.attention + 4 * i * this.attentionFloats;
    const [hc, q, k, v, scores, mixed, projected] = [0, 1, 2, 3, 4, 5, 6].map(piece) as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const rows = (buffer: MapBuffer) => (r: number) =>
      this.arena.floats(buffer.at + map.interior + r * map.row, block.size * C);
    const contiguous = this.arena.floats(hc, P * C);
    for (let r = 0; r < block.size; r++) contiguous.set(rows(h)(r), r * block.size * C);
    this.give(h);
    block.q.run(hc, q, P);
    block.k.run(hc, k, P);
    block.v.run(hc, v, P);
    // scores = q · kᵀ: kᵀ [C, P] as the GEMM's weights (packed over hc, no longer needed), its columns padded to
    // whole panels, Pp: the scores' rows are Pp apart, their padding 0 after the softmax, v's padding rows 0.
    const Pp = padTo(P, 8);
    const keys = this.arena.floats(k, P * C);
    const transposed = new Float32Array(C * P);
    for (let p = 0; p < P; p++) for (let c = 0; c < C; c++) transposed[c * P + p] = keys[p * C + c]!;
    packF32Panels(transposed, C, P, this.arena.floats(hc, f32PanelFloats(C, P)));
    this.gemm(hc, q, this.scratch.zeros, scores, P, Pp, C);
    const weights = this.arena.floats(scores, P * Pp);
    for (let i = 0; i < P; i++) {
      const row = weights.subarray(i * Pp, i * Pp + P);
      let largest = -Infinity;
      for (const s of row) largest = Math.max(largest, s);
      let sum = 0;
      for (let j = 0; j < P; j++) sum += row[j] = Math.exp(row[j]! - largest);
      for (let j = 0; j < P; j++) row[j]! /= sum;
      weights.fill(0, i * Pp + P, (i + 1) * Pp);
    }
    // mixed = weights · v: v [Pp, C] as the weights.
    const values = new Float32Array(Pp * C);
    values.set(this.arena.floats(v, P * C));
    packF32Panels(values, Pp, C, this.arena.floats(hc, f32PanelFloats(Pp, C)));
    this.gemm(hc, scores, this.scratch.zeros, mixed, P, C, Pp);
    block.proj.run(mixed, projected, P);
    const out = this.take(map);
    const added = this.arena.floats(projected, P * C);
    for (let r = 0; r < block.size; r++) {
      const [from, to] = [rows(x)(r), rows(out)(r)];
      for (let i = 0; i < block.size * C; i++) to[i] = from[i]! + added[r * block.size * C + i]!;
    }
    this.give(x);
    return out;
  }

  /** Nearest-neighbour ×2, then the level's 3×3 convolution. */
  private runUpsample(x: MapBuffer, size: number, channels: number, conv: OwnConv3x3): MapBuffer {
    const [from, to] = [new MapGeometry(size / 2, channels), new MapGeometry(size, channels)];
    const up = this.take(to);
    const heap = this.arena.floats(0, this.arena.memory.buffer.byteLength / 4);
    const C = channels;
    for (let r = 0; r < size; r++) {
      const target = (up.at + to.interior + r * to.row) / 4;
      if (r % 2 === 1) {
        heap.copyWithin(target, target - to.row / 4, target - to.row / 4 + size * C);
        continue;
      }
      const source = (x.at + from.interior + (r / 2) * from.row) / 4;
      for (let p = 0; p < size; p++) {
        const pixel = source + (p >> 1) * C;
        heap.copyWithin(target + p * C, pixel, pixel + C);
      }
    }
    this.give(x);
    const out = this.take(to);
    conv.compute(up.at, out.at + to.interior, to.row);
    this.give(up);
    return out;
  }
}

/** conv_out's outputs widened to `outputs` (zero weights and bias): the output transform writes channels in fours. */
function widened(t: ConvTensors, outputs: number): ConvTensors {
  const kernel = new Float32Array(outputs * t.channels * 9);
  kernel.set(t.kernel);
  const bias = new Float32Array(outputs);
  bias.set(t.bias);
  return { ...t, kernel, bias, outputs };
}
