/**
 * VQGAN decoder graph: codes [N, g·g] int64 → pixels [N, outCh, R, R] float32 (nominally [0, 1],
 * not yet clipped). Structure comes from `vqganLevels`, the same walk the reference uses.
 * GroupNorm is written as InstanceNormalization over [N, groups, rest] plus a per-channel affine,
 * because ONNX Runtime's WebGPU EP has InstanceNormalization but no GroupNormalization kernel.
 * The Winograd graphs (the WASM backend's file) keep every map channels last instead, from the codebook
 * lookup to one Transpose before the output, with their own GroupNorm, 1×1 convolutions and attention.
 */
import { GROUP_NORM_EPS, GROUP_NORM_GROUPS, vqganGridSize, vqganLevelChannels } from '../../../src/model/config.ts';
import type { VqganConfig } from '../../../src/model/config.ts';
import { BATCH_AXIS, VQGAN_INPUTS, VQGAN_OUTPUTS } from '../../../src/model/graph-io.ts';
import type { GraphBuilder } from '../onnx/graph-builder.ts';
import type { ParamSource } from '../params.ts';
import { float32ToFloat16 } from '../../../src/model/half.ts';
import { vqganLevels } from '../layout.ts';
import type { ExportDtype } from './precision.ts';
import { quantizeInt8PerColumn } from './quantize.ts';
import { runtimeOne, winogradConv3x3 } from './winograd.ts';
import { shippedWinogradTile } from '../../../src/model/winograd-transforms.ts';
import type { WinogradTile } from './winograd.ts';

/**
 * How 3×3 convolutions are written: `direct` is one Conv node each; `winograd-2` / `-4` / `-6` are
 * Winograd F(m×m, 3×3) with m = 2, 4, 6 (tools/exporter/graphs/winograd.ts), 2.25× / 4× / 5.06× fewer
 * multiplies; `winograd` (the WASM backend's file) is `shippedWinogradTile`: F(6×6) on maps of 64 and more,
 * F(4×4) on the smaller ones.
 */
export const CONV_ALGORITHMS = ['direct', 'winograd-2', 'winograd-4', 'winograd-6', 'winograd'] as const;
export type ConvAlgorithm = (typeof CONV_ALGORITHMS)[number];

/**
 * Whether feature maps are [N, H, W, C] (the Winograd graphs) instead of [N, C, H, W]: the Winograd
 * transforms work on whole channel vectors, so keeping maps channels last saves two reorders per convolution.
 */
function isChannelsLast(algorithm: ConvAlgorithm): boolean {
  return algorithm !== 'direct';
}

interface Ctx {
  readonly b: GraphBuilder;
  readonly params: ParamSource;
  readonly dtype: ExportDtype;
  readonly convAlgorithm: ConvAlgorithm;
  /** A runtime 1.0 for the Winograd filter transform (winograd.ts runtimeOne). */
  readonly one: string;
}

/** flax [kh, kw, in, out] → ONNX [out, in, kh, kw]. */
function toOihw(kernel: Float32Array, k: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(kernel.length);
  for (let y = 0; y < k; y++)
    for (let x = 0; x < k; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++)
          out[((o * cin + i) * k + y) * k + x] = kernel[((y * k + x) * cin + i) * cout + o]!;
  return out;
}

/** A conv weight in float32 for the graph, stored per the dtype (see precision.ts). */
function convWeight(ctx: Ctx, name: string, oihw: Float32Array, dims: number[]): string {
  const { b, dtype } = ctx;
  if (dtype === 'fp32') return b.initializer(name, 'float32', dims, oihw);
  if (dtype === 'fp16') {
    return b.cast(b.initializer(name, 'float16', dims, float32ToFloat16(oihw)), 'float32');
  }
  const cout = dims[0]!;
  const perOut = oihw.length / cout;
  // Per output channel = per column of the transposed [perOut, cout] view.
  const transposed = new Float32Array(oihw.length);
  for (let o = 0; o < cout; o++) for (let j = 0; j < perOut; j++) transposed[j * cout + o] = oihw[o * perOut + j]!;
  const { q, scales } = quantizeInt8PerColumn(transposed, perOut, cout);
  const back = new Int8Array(q.length);
  for (let o = 0; o < cout; o++) for (let j = 0; j < perOut; j++) back[o * perOut + j] = q[j * cout + o]!;
  const weightsQ8 = b.initializer(`${name}.q8`, 'int8', dims, back);
  const outputScales = b.initializer(`${name}.scales`, 'float32', [cout], scales);
  const zeroPoints = b.initializer(`${name}.zero`, 'int8', [cout], new Int8Array(cout));
  return b.op('DequantizeLinear', [weightsQ8, outputScales, zeroPoints], { axis: { i: 0 } });
}

function winogradTile(algorithm: Exclude<ConvAlgorithm, 'direct'>, size: number): WinogradTile {
  return algorithm === 'winograd'
    ? shippedWinogradTile(size)
    : (Number(algorithm.slice('winograd-'.length)) as WinogradTile);
}

/** A convolution over a size × size map, padded to keep the size. */
function conv(ctx: Ctx, x: string, path: string, cin: number, cout: number, size: number): string {
  const { b, params } = ctx;
  const kernelSize = params.shape(`${path}/kernel`)[0]!;
  const weight = convWeight(ctx, path, toOihw(params.read(`${path}/kernel`), kernelSize, cin, cout), [
    cout,
    cin,
    kernelSize,
    kernelSize,
  ]);
  const bias = b.initializer(`${path}/bias`, 'float32', [cout], params.read(`${path}/bias`));
  if (kernelSize === 3 && ctx.convAlgorithm !== 'direct')
    return winogradConv3x3(b, x, weight, bias, cin, cout, size, winogradTile(ctx.convAlgorithm, size), ctx.one);
  if (isChannelsLast(ctx.convAlgorithm)) {
    if (kernelSize !== 1) throw new Error(`${path}: a channels-last graph has only 3×3 and 1×1 convolutions`);
    const matrix = b.op('Transpose', [b.op('Reshape', [weight, b.int64s([cout, cin])])], { perm: { ints: [1, 0] } });
    return b.op('Add', [b.op('MatMul', [x, matrix]), bias]);
  }
  const pad = (kernelSize - 1) / 2;
  return b.op('Conv', [x, weight, bias], {
    kernel_shape: { ints: [kernelSize, kernelSize] },
    pads: { ints: [pad, pad, pad, pad] },
  });
}

function groupNorm(ctx: Ctx, x: string, path: string, channels: number, size: number): string {
  const { b, params } = ctx;
  if (isChannelsLast(ctx.convAlgorithm)) return groupNormChannelsLast(ctx, x, path, channels, size);
  const grouped = b.op('Reshape', [x, b.int64s([0, GROUP_NORM_GROUPS, -1])]);
  const ones = b.constant('float32', [GROUP_NORM_GROUPS], new Array<number>(GROUP_NORM_GROUPS).fill(1));
  const zeros = b.constant('float32', [GROUP_NORM_GROUPS], new Array<number>(GROUP_NORM_GROUPS).fill(0));
  const normed = b.op('InstanceNormalization', [grouped, ones, zeros], { epsilon: { f: GROUP_NORM_EPS } });
  const back = b.op('Reshape', [normed, b.int64s([0, channels, size, size])]);
  const scale = b.initializer(`${path}/scale`, 'float32', [channels, 1, 1], params.read(`${path}/scale`));
  const bias = b.initializer(`${path}/bias`, 'float32', [channels, 1, 1], params.read(`${path}/bias`));
  return b.op('Add', [b.op('Mul', [back, scale]), bias]);
}

/**
 * GroupNorm of [N, H, W, C], two-pass: per-channel means over the pixels as one MatMul with a row of
 * 1/(H·W) (onnxruntime-web's ReduceMean over that axis ran at a fifth of the speed), averaged per
 * group and broadcast back over the channels, the axis ONNX Runtime broadcasts fastest.
 */
function groupNormChannelsLast(ctx: Ctx, x: string, path: string, channels: number, size: number): string {
  const { b, params } = ctx;
  const per = channels / GROUP_NORM_GROUPS;
  if (!Number.isInteger(per))
    throw new Error(`${path}: ${channels} channels do not split into ${GROUP_NORM_GROUPS} groups`);
  const pixels = size * size;
  const averageRow = b.op('Expand', [b.scalar('float32', 1 / pixels), b.int64s([1, pixels])]);
  // [N, H·W, C] → the mean of each channel's group, for every channel: [N, 1, C]
  const groupMean = (t: string): string => {
    const perChannel = b.op('MatMul', [averageRow, t]);
    const perGroup = b.op('ReduceMean', [b.op('Reshape', [perChannel, b.int64s([0, 1, GROUP_NORM_GROUPS, per])])], {
      axes: { ints: [3] },
    });
    return b.op('Reshape', [
      b.op('Expand', [perGroup, b.int64s([1, 1, GROUP_NORM_GROUPS, per])]),
      b.int64s([0, 1, channels]),
    ]);
  };
  const rows = b.op('Reshape', [x, b.int64s([0, pixels, channels])]);
  const centered = b.op('Sub', [rows, groupMean(rows)]);
  const variance = groupMean(b.op('Mul', [centered, centered]));
  const invStd = b.op('Reciprocal', [b.op('Sqrt', [b.op('Add', [variance, b.scalar('float32', GROUP_NORM_EPS)])])]);
  const scale = b.initializer(`${path}/scale`, 'float32', [channels], params.read(`${path}/scale`));
  const bias = b.initializer(`${path}/bias`, 'float32', [channels], params.read(`${path}/bias`));
  const normed = b.op('Add', [b.op('Mul', [centered, b.op('Mul', [invStd, scale])]), bias]);
  return b.op('Reshape', [normed, b.int64s([0, size, size, channels])]);
}

function swish(ctx: Ctx, x: string): string {
  return ctx.b.op('Mul', [x, ctx.b.op('Sigmoid', [x])]);
}

function resBlock(ctx: Ctx, x: string, prefix: string, cin: number, cout: number, size: number): string {
  let h = conv(ctx, swish(ctx, groupNorm(ctx, x, `${prefix}/norm1`, cin, size)), `${prefix}/conv1`, cin, cout, size);
  h = conv(ctx, swish(ctx, groupNorm(ctx, h, `${prefix}/norm2`, cout, size)), `${prefix}/conv2`, cout, cout, size);
  const shortcut = cin !== cout ? conv(ctx, x, `${prefix}/nin_shortcut`, cin, cout, size) : x;
  return ctx.b.op('Add', [shortcut, h]);
}

function attnBlock(ctx: Ctx, x: string, prefix: string, channels: number, size: number): string {
  const { b } = ctx;
  const h = groupNorm(ctx, x, `${prefix}/norm`, channels, size);
  if (isChannelsLast(ctx.convAlgorithm)) return b.op('Add', [x, attentionChannelsLast(ctx, h, prefix, channels, size)]);
  const flat = (t: string): string => b.op('Reshape', [t, b.int64s([0, channels, size * size])]);
  const q = b.op('Transpose', [flat(conv(ctx, h, `${prefix}/q`, channels, channels, size))], {
    perm: { ints: [0, 2, 1] },
  });
  const k = flat(conv(ctx, h, `${prefix}/k`, channels, channels, size));
  const v = flat(conv(ctx, h, `${prefix}/v`, channels, channels, size));
  const scores = b.op('Mul', [b.op('MatMul', [q, k]), b.scalar('float32', 1 / Math.sqrt(channels))]);
  const weights = b.op('Softmax', [scores], { axis: { i: -1 } });
  // out[c, i] = Σ_j v[c, j] · w[i, j]
  const mixed = b.op('MatMul', [v, b.op('Transpose', [weights], { perm: { ints: [0, 2, 1] } })]);
  const out = conv(
    ctx,
    b.op('Reshape', [mixed, b.int64s([0, channels, size, size])]),
    `${prefix}/proj_out`,
    channels,
    channels,
    size,
  );
  return b.op('Add', [x, out]);
}

/** Single-head attention over the pixels of [N, H, W, C]: rows are pixels already, no reorder. */
function attentionChannelsLast(ctx: Ctx, h: string, prefix: string, channels: number, size: number): string {
  const { b } = ctx;
  const flat = (t: string): string => b.op('Reshape', [t, b.int64s([0, size * size, channels])]);
  const [q, k, v] = ['q', 'k', 'v'].map((name) => flat(conv(ctx, h, `${prefix}/${name}`, channels, channels, size)));
  const scores = b.op('MatMul', [q!, b.op('Transpose', [k!], { perm: { ints: [0, 2, 1] } })]);
  const weights = b.op('Softmax', [b.op('Mul', [scores, b.scalar('float32', 1 / Math.sqrt(channels))])], {
    axis: { i: -1 },
  });
  const mixed = b.op('Reshape', [b.op('MatMul', [weights, v!]), b.int64s([0, size, size, channels])]);
  return conv(ctx, mixed, `${prefix}/proj_out`, channels, channels, size);
}

export function buildVqganGraph(
  b: GraphBuilder,
  params: ParamSource,
  config: VqganConfig,
  dtype: ExportDtype,
  // The exporter writes both: `direct` as the graph's `file`, `winograd` as its `wasmFile` (faster on WASM only).
  convAlgorithm: ConvAlgorithm = 'direct',
): void {
  const grid = vqganGridSize(config);
  const codes = b.input(VQGAN_INPUTS.codes, 'int64', [BATCH_AXIS, grid * grid]);
  const channelsLast = isChannelsLast(convAlgorithm);
  const ctx: Ctx = { b, params, dtype, convAlgorithm, one: runtimeOne(b, codes) };
  const codebook = convWeight(ctx, 'quantize/embedding/embedding', params.read('quantize/embedding/embedding'), [
    config.nEmbed,
    config.embedDim,
  ]);
  const picked = b.op('Gather', [codebook, codes]);
  let x = b.op('Reshape', [picked, b.int64s([0, grid, grid, config.embedDim])]);
  if (!channelsLast) x = b.op('Transpose', [x], { perm: { ints: [0, 3, 1, 2] } });
  x = conv(ctx, x, 'post_quant_conv', config.embedDim, config.zChannels, grid);
  const topChannels = vqganLevelChannels(config, config.chMult.length - 1);
  x = conv(ctx, x, 'decoder/conv_in', config.zChannels, topChannels, grid);
  b.scope = 'mid';
  x = resBlock(ctx, x, 'decoder/mid/block_1', topChannels, topChannels, grid);
  x = attnBlock(ctx, x, 'decoder/mid/attn_1', topChannels, grid);
  x = resBlock(ctx, x, 'decoder/mid/block_2', topChannels, topChannels, grid);
  for (const level of vqganLevels(config)) {
    b.scope = `up_${level.level}`;
    level.blocks.forEach((block, i) => {
      x = resBlock(ctx, x, block.prefix, block.cin, block.cout, level.resolution);
      const attention = level.attentions[i];
      if (attention) x = attnBlock(ctx, x, attention, block.cout, level.resolution);
    });
    if (level.upsample) {
      const channels = vqganLevelChannels(config, level.level);
      const scales = b.constant('float32', [4], channelsLast ? [1, 2, 2, 1] : [1, 1, 2, 2]);
      const up = b.op('Resize', [x, '', scales], {
        mode: { s: 'nearest' },
        coordinate_transformation_mode: { s: 'asymmetric' },
        nearest_mode: { s: 'floor' },
      });
      x = conv(ctx, up, level.upsample, channels, channels, 2 * level.resolution);
    }
  }
  b.scope = '';
  const baseChannels = vqganLevelChannels(config, 0);
  x = swish(ctx, groupNorm(ctx, x, 'decoder/norm_out', baseChannels, config.resolution));
  x = conv(ctx, x, 'decoder/conv_out', baseChannels, config.outCh, config.resolution);
  if (channelsLast) x = b.op('Transpose', [x], { perm: { ints: [0, 3, 1, 2] } });
  b.output(VQGAN_OUTPUTS.pixels, x, 'float32', [BATCH_AXIS, config.outCh, config.resolution, config.resolution]);
}
