/**
 * Plain-TypeScript reference forward of DalleBart (docs/model-format.md#dallebart-architecture),
 * used only by tests to check the ONNX graphs. It is written independently of the graph builder:
 * straightforward loops, float64 work buffers, no KV cache, an accurate erf. Slow, but trustworthy
 * on tiny configs.
 */
import type { DalleBartConfig } from '../../src/model/config.ts';
/**
 * docs/model-format.md#layer-norm, written out here rather than imported, so a wrong constant in
 * the exporter is caught.
 */
const LAYER_NORM_EPS = 1e-5;
import type { ParamSource } from '../../tools/exporter/params.ts';

// ---------------------------------------------------------------------------------------------
// erf / erfc / GELU
// ---------------------------------------------------------------------------------------------

const TWO_OVER_SQRT_PI = 1.1283791670955126;
const INV_SQRT_PI = 0.5641895835477563;
/** Below this |x| the power series is used, above it the continued fraction (see erfSmall/erfcLarge). */
const SERIES_LIMIT = 1;
/** Continued-fraction depth; 200 already reaches double precision at x = 1 (checked against libm). */
const CF_TERMS = 400;

/**
 * erf(x) = 2/√π · e^{-x²} · Σ_n (2x²)^n · x / (1·3·…·(2n+1)). Every term has the sign of x, so there
 * is no cancellation (unlike the alternating Taylor series); used for |x| < SERIES_LIMIT.
 */
function erfSmall(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 0; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 3);
    sum += term;
    if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}

/**
 * erfc(x) for x ≥ SERIES_LIMIT by the Laplace continued fraction
 * erfc(x) = e^{-x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), evaluated bottom-up.
 * Relative accuracy ~1e-15 over [1, ∞) (no 1 − erf cancellation in the tail).
 */
function erfcLarge(x: number): number {
  let f = x;
  for (let n = CF_TERMS; n >= 1; n--) f = x + n / 2 / f;
  return (Math.exp(-x * x) * INV_SQRT_PI) / f;
}

/** Error function, absolute error below 1e-15 (compared with CPython's math.erf on [-8, 8]). */
export function erf(x: number): number {
  if (Math.abs(x) < SERIES_LIMIT) return erfSmall(x);
  return x > 0 ? 1 - erfcLarge(x) : erfcLarge(-x) - 1;
}

/** Complementary error function with small relative error also in the far tails. */
export function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x);
  if (x < SERIES_LIMIT) return 1 - erfSmall(x);
  return erfcLarge(x);
}

/** Exact GELU, x·Φ(x) = x/2 · erfc(−x/√2); the erfc form keeps precision for large negative x. */
export function gelu(x: number): number {
  return 0.5 * x * erfc(-x * Math.SQRT1_2);
}

// ---------------------------------------------------------------------------------------------
// Small dense helpers (row-major float64 matrices)
// ---------------------------------------------------------------------------------------------

/** y[n, out] = x[n, in] · W[in, out] with a flax Dense kernel (no bias in DalleBart). */
function matmul(x: Float64Array, rows: number, inDim: number, w: Float32Array, outDim: number): Float64Array {
  if (w.length !== inDim * outDim) throw new Error(`kernel has ${w.length} values, expected ${inDim}×${outDim}`);
  const y = new Float64Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    const yRow = r * outDim;
    for (let i = 0; i < inDim; i++) {
      const xi = x[r * inDim + i] ?? 0;
      if (xi === 0) continue;
      const wRow = i * outDim;
      // Inner loop walks W and y contiguously.
      for (let o = 0; o < outDim; o++) y[yRow + o] = (y[yRow + o] ?? 0) + xi * (w[wRow + o] ?? 0);
    }
  }
  return y;
}

/**
 * LayerNorm over the last axis (width `width`), two-pass mean/variance in float64.
 * `scale` null = bias-only LayerNorm (γ ≡ 1, docs/model-format.md#layer-norm).
 */
function layerNorm(x: Float64Array, width: number, scale: Float32Array | null, bias: Float32Array): Float64Array {
  const rows = x.length / width;
  const y = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    const base = r * width;
    let mean = 0;
    for (let i = 0; i < width; i++) mean += x[base + i] ?? 0;
    mean /= width;
    let variance = 0;
    for (let i = 0; i < width; i++) {
      const dev = (x[base + i] ?? 0) - mean;
      variance += dev * dev;
    }
    variance /= width;
    const inv = 1 / Math.sqrt(variance + LAYER_NORM_EPS);
    for (let i = 0; i < width; i++) {
      const gamma = scale ? (scale[i] ?? 0) : 1;
      y[base + i] = ((x[base + i] ?? 0) - mean) * inv * gamma + (bias[i] ?? 0);
    }
  }
  return y;
}

function addInPlace(target: Float64Array, delta: Float64Array): void {
  for (let i = 0; i < target.length; i++) target[i] = (target[i] ?? 0) + (delta[i] ?? 0);
}

/**
 * Multi-head scaled dot-product attention for one batch row.
 * q: [tq, d], k/v: [tk, d]; head h uses columns h·hd … h·hd+hd−1. `allowed(i, j)` says whether query i
 * may see key j; disallowed keys get weight exactly 0 (the −∞ additive bias of DM). A query that may
 * see no key at all gets uniform weights over all keys, which is what MD's −1e12 bias yields in float32
 * (DM would produce NaN); with real masks this never happens because BOS is always unmasked.
 */
function attention(
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  tq: number,
  tk: number,
  d: number,
  heads: number,
  allowed: (i: number, j: number) => boolean,
): Float64Array {
  const hd = d / heads;
  const scale = 1 / Math.sqrt(hd);
  const out = new Float64Array(tq * d);
  const logits = new Float64Array(tk);
  const mask = new Uint8Array(tk);
  for (let h = 0; h < heads; h++) {
    const off = h * hd;
    for (let i = 0; i < tq; i++) {
      let max = -Infinity;
      let any = false;
      for (let j = 0; j < tk; j++) {
        mask[j] = allowed(i, j) ? 1 : 0;
        if (mask[j]) any = true;
      }
      if (!any) mask.fill(1);
      for (let j = 0; j < tk; j++) {
        if (!mask[j]) continue;
        let dot = 0;
        for (let c = 0; c < hd; c++) dot += (q[i * d + off + c] ?? 0) * (k[j * d + off + c] ?? 0);
        logits[j] = dot * scale;
        if (dot * scale > max) max = dot * scale;
      }
      let sum = 0;
      for (let j = 0; j < tk; j++) {
        const e = mask[j] ? Math.exp((logits[j] ?? 0) - max) : 0;
        logits[j] = e;
        sum += e;
      }
      for (let j = 0; j < tk; j++) {
        const w = (logits[j] ?? 0) / sum;
        if (w === 0) continue;
        for (let c = 0; c < hd; c++) out[i * d + off + c] = (out[i * d + off + c] ?? 0) + w * (v[j * d + off + c] ?? 0);
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Parameter access
// ---------------------------------------------------------------------------------------------

/** Reads one layer's slice of the scanned parameters under `prefix`. */
class LayerParams {
  constructor(
    private readonly params: ParamSource,
    private readonly prefix: string,
    private readonly layer: number,
  ) {}
  get(name: string): Float32Array {
    return this.params.readLayer(`${this.prefix}/${name}`, this.layer);
  }
}

/** Attention sublayer (no biases): q from `xq` [tq, d], k/v from `xkv` [tk, d], then out_proj. */
function attentionBlock(
  p: LayerParams,
  name: string,
  xq: Float64Array,
  tq: number,
  xkv: Float64Array,
  tk: number,
  d: number,
  heads: number,
  allowed: (i: number, j: number) => boolean,
): Float64Array {
  const q = matmul(xq, tq, d, p.get(`${name}/q_proj/kernel`), d);
  const k = matmul(xkv, tk, d, p.get(`${name}/k_proj/kernel`), d);
  const v = matmul(xkv, tk, d, p.get(`${name}/v_proj/kernel`), d);
  const a = attention(q, k, v, tq, tk, d, heads, allowed);
  return matmul(a, tq, d, p.get(`${name}/out_proj/kernel`), d);
}

/**
 * NormFormer GLU (docs/model-format.md#glu-feed-forward): LN0 (bias-only) → GELU(gate) ⊙ linear →
 * LN1 (bias-only) → Dense_2.
 */
function glu(p: LayerParams, x: Float64Array, rows: number, d: number, ffn: number): Float64Array {
  const g = layerNorm(x, d, null, p.get('GLU_0/LayerNorm_0/bias'));
  const gate = matmul(g, rows, d, p.get('GLU_0/Dense_0/kernel'), ffn);
  const lin = matmul(g, rows, d, p.get('GLU_0/Dense_1/kernel'), ffn);
  for (let i = 0; i < gate.length; i++) gate[i] = gelu(gate[i] ?? 0) * (lin[i] ?? 0);
  const u = layerNorm(gate, ffn, null, p.get('GLU_0/LayerNorm_1/bias'));
  return matmul(u, rows, ffn, p.get('GLU_0/Dense_2/kernel'), d);
}

/** Token embedding + position rows 0…t−1 (offset 0, no √d scaling), then layernorm_embedding. */
function embed(params: ParamSource, prefix: string, ids: readonly number[], d: number): Float64Array {
  const table = params.read(`${prefix}/embed_tokens/embedding`);
  const positions = params.read(`${prefix}/embed_positions/embedding`);
  const [rows] = params.shape(`${prefix}/embed_tokens/embedding`);
  const [posRows] = params.shape(`${prefix}/embed_positions/embedding`);
  if (ids.length > (posRows ?? 0))
    throw new Error(`${prefix}: ${ids.length} positions but the position table has ${posRows}`);
  const x = new Float64Array(ids.length * d);
  ids.forEach((id, t) => {
    if (!Number.isInteger(id) || id < 0 || id >= (rows ?? 0)) throw new Error(`${prefix}: token id ${id} out of range`);
    for (let c = 0; c < d; c++) x[t * d + c] = (table[id * d + c] ?? 0) + (positions[t * d + c] ?? 0);
  });
  return layerNorm(
    x,
    d,
    params.read(`${prefix}/layernorm_embedding/scale`),
    params.read(`${prefix}/layernorm_embedding/bias`),
  );
}

function checkRectangular(name: string, rows: readonly (readonly number[])[], width?: number): number {
  const first = rows[0];
  if (!first) throw new Error(`${name}: empty batch`);
  const w = width ?? first.length;
  for (const row of rows) if (row.length !== w) throw new Error(`${name}: every row must have length ${w}`);
  return w;
}

// ---------------------------------------------------------------------------------------------
// Encoder and decoder
// ---------------------------------------------------------------------------------------------

const ENCODER_LAYERS = 'model/encoder/layers/FlaxBartEncoderLayers';
const DECODER_LAYERS = 'model/decoder/layers/FlaxBartDecoderLayers';

/**
 * Encoder forward (docs/model-format.md#embeddings-and-positions,
 * docs/model-format.md#encoder-layer). inputIds/attentionMask: [B][T] with T ≤ maxTextLength
 * (normally = 64); mask 0 marks padding, which is masked only as attention keys. Returns the
 * final_ln output, [B, T, d] float32.
 */
export function referenceEncoder(
  params: ParamSource,
  config: DalleBartConfig,
  inputIds: readonly (readonly number[])[],
  attentionMask: readonly (readonly number[])[],
): Float32Array {
  const d = config.dModel;
  const T = checkRectangular('inputIds', inputIds);
  checkRectangular('attentionMask', attentionMask, T);
  if (attentionMask.length !== inputIds.length) throw new Error('inputIds and attentionMask batch sizes differ');
  const out = new Float32Array(inputIds.length * T * d);
  inputIds.forEach((ids, b) => {
    const mask = attentionMask[b] ?? [];
    const allowed = (_i: number, j: number): boolean => mask[j] !== 0;
    let h = embed(params, 'model/encoder', ids, d);
    for (let l = 0; l < config.encoderLayers; l++) {
      const p = new LayerParams(params, ENCODER_LAYERS, l);
      const a0 = layerNorm(h, d, null, p.get('LayerNorm_0/bias'));
      const a1 = attentionBlock(p, 'FlaxBartAttention_0', a0, T, a0, T, d, config.encoderHeads, allowed);
      addInPlace(h, layerNorm(a1, d, p.get('LayerNorm_1/scale'), p.get('LayerNorm_1/bias')));
      addInPlace(h, glu(p, h, T, d, config.encoderFfnDim));
    }
    h = layerNorm(h, d, null, params.read('model/encoder/final_ln/bias'));
    out.set(h, b * T * d);
  });
  return out;
}

/**
 * Decoder forward over whole prefixes, without a cache
 * (docs/model-format.md#embeddings-and-positions, docs/model-format.md#decoder-layer).
 * encoderOutput: [B, T, d] (T = attentionMask row length); tokens: [B][t], tokens[b][0] = start
 * token, t ≤ imageLength. Position i attends causally to 0…i and cross-attends to the unmasked text
 * keys. Returns logits [B, t, imageVocabSize + 1] float32 for every position.
 */
export function referenceDecoder(
  params: ParamSource,
  config: DalleBartConfig,
  encoderOutput: Float32Array,
  attentionMask: readonly (readonly number[])[],
  tokens: readonly (readonly number[])[],
): Float32Array {
  const d = config.dModel;
  const vocab = config.imageVocabSize + 1;
  const T = checkRectangular('attentionMask', attentionMask);
  const t = checkRectangular('tokens', tokens);
  const B = tokens.length;
  if (attentionMask.length !== B) throw new Error('tokens and attentionMask batch sizes differ');
  if (encoderOutput.length !== B * T * d)
    throw new Error(`encoderOutput has ${encoderOutput.length} values, expected ${B}×${T}×${d}`);
  const lmHead = params.read('lm_head/kernel');
  const out = new Float32Array(B * t * vocab);
  tokens.forEach((ids, b) => {
    const mask = attentionMask[b] ?? [];
    const causal = (i: number, j: number): boolean => j <= i;
    const textKeys = (_i: number, j: number): boolean => mask[j] !== 0;
    const enc = Float64Array.from(encoderOutput.subarray(b * T * d, (b + 1) * T * d));
    let h = embed(params, 'model/decoder', ids, d);
    for (let l = 0; l < config.decoderLayers; l++) {
      const p = new LayerParams(params, DECODER_LAYERS, l);
      const s0 = layerNorm(h, d, null, p.get('LayerNorm_0/bias'));
      const s1 = attentionBlock(p, 'FlaxBartAttention_0', s0, t, s0, t, d, config.decoderHeads, causal);
      addInPlace(h, layerNorm(s1, d, p.get('LayerNorm_1/scale'), p.get('LayerNorm_1/bias')));
      const c0 = layerNorm(h, d, null, p.get('LayerNorm_2/bias'));
      const c1 = attentionBlock(p, 'FlaxBartAttention_1', c0, t, enc, T, d, config.decoderHeads, textKeys);
      addInPlace(h, layerNorm(c1, d, p.get('LayerNorm_3/scale'), p.get('LayerNorm_3/bias')));
      addInPlace(h, glu(p, h, t, d, config.decoderFfnDim));
    }
    h = layerNorm(h, d, null, params.read('model/decoder/final_ln/bias'));
    out.set(matmul(h, t, d, lmHead, vocab), b * t * vocab);
  });
  return out;
}
