/**
 * Plain-TypeScript reference of the VQGAN decoder (docs/model-format.md#vqgan-decoder,
 * docs/model-format.md#vqgan-blocks), used only by tests. Feature maps are CHW float64 arrays, one
 * image at a time; the structure comes from `vqganLevels`, like the layout.
 */
import type { VqganConfig } from '../../src/model/config.ts';
import { GROUP_NORM_GROUPS, vqganGridSize, vqganLevelChannels } from '../../src/model/config.ts';

/**
 * docs/model-format.md#vqgan-blocks (taming's GroupNorm eps), written out rather than imported so
 * the check is independent.
 */
const GROUP_NORM_EPS = 1e-6;
import { vqganLevels } from '../../tools/exporter/layout.ts';
import type { ParamSource } from '../../tools/exporter/params.ts';

/** A CHW feature map. */
interface Map3 {
  readonly data: Float64Array;
  readonly c: number;
  readonly h: number;
  readonly w: number;
}

/**
 * k×k convolution, stride 1, zero padding (k−1)/2, with bias. Kernel is flax [kh, kw, cin, cout].
 * Loop order: (ky, kx, ci, co) outside, then rows, then a contiguous run of columns, so the inner loop
 * is a scaled add of one input row segment into one output row segment.
 */
function conv(params: ParamSource, prefix: string, x: Map3): Map3 {
  const shape = params.shape(`${prefix}/kernel`);
  const [kh, kw, cin, cout] = shape;
  if (
    shape.length !== 4 ||
    kh === undefined ||
    kw === undefined ||
    cin === undefined ||
    cout === undefined ||
    kh !== kw
  ) {
    throw new Error(`${prefix}/kernel: unexpected shape [${shape.join(', ')}]`);
  }
  if (cin !== x.c) throw new Error(`${prefix}: expects ${cin} input channels, got ${x.c}`);
  const kernel = params.read(`${prefix}/kernel`);
  const bias = params.read(`${prefix}/bias`);
  const { h: H, w: W } = x;
  const plane = H * W;
  const pad = (kh - 1) / 2;
  const out = new Float64Array(cout * plane);
  for (let co = 0; co < cout; co++) out.fill(bias[co] ?? 0, co * plane, (co + 1) * plane);
  const src = x.data;
  for (let ky = 0; ky < kh; ky++) {
    const dy = ky - pad;
    const y0 = Math.max(0, -dy);
    const y1 = Math.min(H, H - dy);
    for (let kx = 0; kx < kw; kx++) {
      const dx = kx - pad;
      const x0 = Math.max(0, -dx);
      const x1 = Math.min(W, W - dx);
      for (let ci = 0; ci < cin; ci++) {
        const kBase = ((ky * kw + kx) * cin + ci) * cout;
        const inPlane = ci * plane;
        for (let co = 0; co < cout; co++) {
          const wgt = kernel[kBase + co] ?? 0;
          if (wgt === 0) continue;
          const outPlane = co * plane;
          for (let y = y0; y < y1; y++) {
            const o = outPlane + y * W;
            const i = inPlane + (y + dy) * W + dx;
            for (let xx = x0; xx < x1; xx++) out[o + xx] = (out[o + xx] ?? 0) + wgt * (src[i + xx] ?? 0);
          }
        }
      }
    }
  }
  return { data: out, c: cout, h: H, w: W };
}

/** GroupNorm(32 groups, eps 1e-6) with per-channel affine scale/bias; two-pass statistics. */
function groupNorm(params: ParamSource, prefix: string, x: Map3): Map3 {
  const scale = params.read(`${prefix}/scale`);
  const bias = params.read(`${prefix}/bias`);
  const { c: C, h: H, w: W } = x;
  if (C % GROUP_NORM_GROUPS !== 0)
    throw new Error(`${prefix}: ${C} channels not divisible into ${GROUP_NORM_GROUPS} groups`);
  const plane = H * W;
  const perGroup = (C / GROUP_NORM_GROUPS) * plane;
  const out = new Float64Array(x.data.length);
  for (let g = 0; g < GROUP_NORM_GROUPS; g++) {
    const start = g * perGroup; // channels of one group are adjacent planes in CHW
    let mean = 0;
    for (let i = 0; i < perGroup; i++) mean += x.data[start + i] ?? 0;
    mean /= perGroup;
    let variance = 0;
    for (let i = 0; i < perGroup; i++) {
      const dev = (x.data[start + i] ?? 0) - mean;
      variance += dev * dev;
    }
    variance /= perGroup;
    const inv = 1 / Math.sqrt(variance + GROUP_NORM_EPS);
    for (let i = 0; i < perGroup; i++) {
      const ch = Math.floor((start + i) / plane);
      out[start + i] = ((x.data[start + i] ?? 0) - mean) * inv * (scale[ch] ?? 0) + (bias[ch] ?? 0);
    }
  }
  return { ...x, data: out };
}

/** x·sigmoid(x), in place on a fresh map. */
function swish(x: Map3): Map3 {
  const data = x.data.map((v) => v / (1 + Math.exp(-v)));
  return { ...x, data };
}

function add(a: Map3, b: Map3): Map3 {
  if (a.data.length !== b.data.length) throw new Error('residual shapes differ');
  const data = new Float64Array(a.data.length);
  for (let i = 0; i < data.length; i++) data[i] = (a.data[i] ?? 0) + (b.data[i] ?? 0);
  return { ...a, data };
}

/**
 * ResBlock (docs/model-format.md#vqgan-blocks): x + conv2(swish(norm2(conv1(swish(norm1(x)))))),
 * nin_shortcut iff cin ≠ cout.
 */
function resBlock(params: ParamSource, prefix: string, cin: number, cout: number, x: Map3): Map3 {
  let h = conv(params, `${prefix}/conv1`, swish(groupNorm(params, `${prefix}/norm1`, x)));
  h = conv(params, `${prefix}/conv2`, swish(groupNorm(params, `${prefix}/norm2`, h)));
  const shortcut = cin !== cout ? conv(params, `${prefix}/nin_shortcut`, x) : x;
  return add(shortcut, h);
}

/**
 * Single-head spatial self-attention (docs/model-format.md#vqgan-blocks): x +
 * proj_out(softmax(qᵀk/√C) applied to v).
 */
function attnBlock(params: ParamSource, prefix: string, x: Map3): Map3 {
  const h = groupNorm(params, `${prefix}/norm`, x);
  const q = conv(params, `${prefix}/q`, h).data;
  const k = conv(params, `${prefix}/k`, h).data;
  const v = conv(params, `${prefix}/v`, h).data;
  const C = x.c;
  const P = x.h * x.w;
  const scale = 1 / Math.sqrt(C);
  // logits[i, j] = Σ_c q[c, i]·k[c, j]; accumulated channel by channel so the inner loop is contiguous.
  const weights = new Float64Array(P * P);
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < P; i++) {
      const qi = (q[c * P + i] ?? 0) * scale;
      const row = i * P;
      const kc = c * P;
      for (let j = 0; j < P; j++) weights[row + j] = (weights[row + j] ?? 0) + qi * (k[kc + j] ?? 0);
    }
  }
  for (let i = 0; i < P; i++) {
    const row = i * P;
    let max = -Infinity;
    for (let j = 0; j < P; j++) max = Math.max(max, weights[row + j] ?? 0);
    let sum = 0;
    for (let j = 0; j < P; j++) {
      const e = Math.exp((weights[row + j] ?? 0) - max);
      weights[row + j] = e;
      sum += e;
    }
    for (let j = 0; j < P; j++) weights[row + j] = (weights[row + j] ?? 0) / sum;
  }
  // attended[c, i] = Σ_j weights[i, j]·v[c, j]
  const attended = new Float64Array(C * P);
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < P; i++) {
      let acc = 0;
      const row = i * P;
      for (let j = 0; j < P; j++) acc += (weights[row + j] ?? 0) * (v[c * P + j] ?? 0);
      attended[c * P + i] = acc;
    }
  }
  const out = conv(params, `${prefix}/proj_out`, { ...x, data: attended });
  return add(x, out);
}

/** Nearest-neighbour ×2: each pixel becomes a 2×2 block. */
function upsampleNearest(x: Map3): Map3 {
  const H = x.h * 2;
  const W = x.w * 2;
  const data = new Float64Array(x.c * H * W);
  for (let c = 0; c < x.c; c++) {
    for (let y = 0; y < H; y++) {
      const src = c * x.h * x.w + (y >> 1) * x.w;
      const dst = c * H * W + y * W;
      for (let xx = 0; xx < W; xx++) data[dst + xx] = x.data[src + (xx >> 1)] ?? 0;
    }
  }
  return { c: x.c, h: H, w: W, data };
}

/** Codebook lookup: code j (raster order) → row j / grid, column j % grid; channels = embedDim. */
function lookup(params: ParamSource, config: VqganConfig, codes: readonly number[]): Map3 {
  const grid = vqganGridSize(config);
  const plane = grid * grid;
  if (codes.length !== plane) throw new Error(`expected ${plane} codes per image, got ${codes.length}`);
  const codebook = params.read('quantize/embedding/embedding');
  const C = config.embedDim;
  const data = new Float64Array(C * plane);
  codes.forEach((code, j) => {
    if (!Number.isInteger(code) || code < 0 || code >= config.nEmbed) throw new Error(`code ${code} out of range`);
    for (let c = 0; c < C; c++) data[c * plane + j] = codebook[code * C + c] ?? 0;
  });
  return { data, c: C, h: grid, w: grid };
}

/**
 * VQGAN decoder forward. codes: [N][grid²] code indices in raster order.
 * Returns [N, outCh, resolution, resolution] float32 NCHW, not clipped.
 */
export function referenceVqgan(
  params: ParamSource,
  config: VqganConfig,
  codes: readonly (readonly number[])[],
): Float32Array {
  const R = config.resolution;
  const out = new Float32Array(codes.length * config.outCh * R * R);
  const top = vqganLevelChannels(config, config.chMult.length - 1);
  const levels = vqganLevels(config);
  codes.forEach((oneImage, n) => {
    let x = lookup(params, config, oneImage);
    x = conv(params, 'post_quant_conv', x);
    x = conv(params, 'decoder/conv_in', x);
    x = resBlock(params, 'decoder/mid/block_1', top, top, x);
    x = attnBlock(params, 'decoder/mid/attn_1', x);
    x = resBlock(params, 'decoder/mid/block_2', top, top, x);
    for (const level of levels) {
      level.blocks.forEach((block, i) => {
        x = resBlock(params, block.prefix, block.cin, block.cout, x);
        const attention = level.attentions[i];
        if (attention) x = attnBlock(params, attention, x);
      });
      if (level.upsample) x = conv(params, level.upsample, upsampleNearest(x));
    }
    x = swish(groupNorm(params, 'decoder/norm_out', x));
    x = conv(params, 'decoder/conv_out', x);
    if (x.c !== config.outCh || x.h !== R || x.w !== R)
      throw new Error(`decoder produced ${x.c}×${x.h}×${x.w}, expected ${config.outCh}×${R}×${R}`);
    out.set(x.data, n * config.outCh * R * R);
  });
  return out;
}
