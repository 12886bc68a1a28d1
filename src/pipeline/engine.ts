/**
 * One prompt through the model: encoder once (cond + uncond rows), 256 decoder steps with the KV
 * cache fed back as-is (GPU-resident when the session keeps outputs on the GPU), then VQGAN.
 */
import { vqganGridSize } from '../model/config.ts';
import {
  DECODER_INPUTS,
  DECODER_OUTPUTS,
  ENCODER_INPUTS,
  VQGAN_INPUTS,
  VQGAN_OUTPUTS,
  cacheFeedback,
  cacheNames,
  crossAttentionNames,
} from '../model/graph-io.ts';
import type { CacheLink } from '../model/graph-io.ts';
import type { ModelManifest } from '../model/manifest.ts';
import type { EncodedPrompt } from '../text/bpe-tokenizer.ts';
import { throwIfCancelled } from './errors.ts';
import { createRng } from '../core/rng.ts';
import { checkSeed } from '../core/seed.ts';
import { checkSamplingSettings, sampleNextTokens } from './sampler.ts';
import type { SamplingSettings } from './sampler.ts';
import type { DalleSessions, OrtApi, Tensor } from './runtime.ts';

export interface TokenRequest {
  readonly prompt: EncodedPrompt;
  readonly unconditional: EncodedPrompt;
  /** How many images this batch samples. */
  readonly count: number;
  readonly seed: number;
  /** Index of this batch's first image in the whole request: image i samples from stream firstImage + i. */
  readonly firstImage?: number;
  readonly sampling: SamplingSettings;
  readonly signal?: AbortSignal;
  /** Called after each step with the codes sampled so far ([n, imageLength], unsampled slots −1). */
  readonly onStep?: (step: number, codes: Int32Array) => void | Promise<void>;
}

type Feeds = Record<string, Tensor>;

function int64(ort: OrtApi, values: ArrayLike<number>, dims: readonly number[]): Tensor {
  return new ort.Tensor(
    'int64',
    BigInt64Array.from(values, (v) => BigInt(v)),
    dims,
  );
}

export class DalleEngine {
  constructor(
    readonly ort: OrtApi,
    readonly sessions: DalleSessions,
    readonly manifest: ModelManifest,
  ) {}

  /** Samples `count` × imageLength codes for one prompt. */
  async generateTokens(request: TokenRequest): Promise<Int32Array> {
    checkSamplingSettings(request.sampling);
    checkSeed(request.seed);
    const { manifest } = this;
    const n = request.count;
    const S = manifest.dalleBart.imageLength;
    const vocab = manifest.dalleBart.imageVocabSize + 1;
    const codeCount = manifest.specialTokens.imageCodes;
    const decoding = await this.beginDecoding(request.prompt, request.unconditional, n);
    const rngs = Array.from({ length: n }, (_, i) => createRng(request.seed, (request.firstImage ?? 0) + i));
    const result = new Int32Array(n * S).fill(-1);
    let previous = new Array<number>(n).fill(manifest.specialTokens.imageStart);
    try {
      for (let step = 0; step < S; step++) {
        throwIfCancelled(request.signal);
        const logits = await decoding.step(previous);
        const next = sampleNextTokens(logits, n, vocab, codeCount, request.sampling, rngs);
        for (let i = 0; i < n; i++) result[i * S + step] = next[i]!;
        previous = Array.from(next);
        await request.onStep?.(step, result);
      }
    } finally {
      decoding.dispose();
    }
    return result;
  }

  /**
   * Runs the encoder for one prompt and returns a decoder positioned at step 0 for n images
   * (2n rows: cond × n, then uncond × n). Each `step` feeds the n previous tokens and returns
   * the raw logits [2n, V+1]; callers choose the next tokens (sampling, or teacher forcing in reports).
   */
  async beginDecoding(prompt: EncodedPrompt, unconditional: EncodedPrompt, n: number): Promise<DecoderState> {
    const { ort, manifest } = this;
    const c = manifest.dalleBart;
    const T = c.maxTextLength;
    // mini's text embedding has one row fewer than its vocab.json (docs/model-format.md#tokenizer):
    // map such ids to <unk>.
    const ids = [...prompt.ids, ...unconditional.ids].map((id) =>
      id < c.encoderVocabSize ? id : manifest.specialTokens.unk,
    );
    const attentionMask = int64(ort, [...prompt.attentionMask, ...unconditional.attentionMask], [2, T]);
    const encoded = await this.sessions.encoder.run({
      [ENCODER_INPUTS.inputIds]: int64(ort, ids, [2, T]),
      [ENCODER_INPUTS.attentionMask]: attentionMask,
    });
    // The decoder reads the two rows' cross keys/values as they are (on the GPU when the session
    // keeps them there): every image of a prompt row shares them.
    const fixed: Feeds = { [DECODER_INPUTS.attentionMask]: attentionMask };
    for (const { key, value } of crossAttentionNames(c)) {
      fixed[key] = encoded[key]!;
      fixed[value] = encoded[value]!;
    }
    for (const [name, tensor] of Object.entries(encoded)) if (!(name in fixed)) tensor.dispose();
    return new DecoderState(this, fixed, this.emptyCache(2 * n));
  }

  private emptyCache(rows: number): Feeds {
    const c = this.manifest.dalleBart;
    const { compute } = this.manifest.graphs.decoder;
    const hd = c.dModel / c.decoderHeads;
    const size = rows * c.dModel * c.imageLength;
    const feeds: Feeds = {};
    for (const { key, value } of cacheNames(c, 'past')) {
      const zeros = (): Float32Array =>
        compute === 'float16' ? (new Uint16Array(size) as unknown as Float32Array) : new Float32Array(size);
      feeds[key] = new this.ort.Tensor(compute as 'float32', zeros(), [rows, c.decoderHeads, hd, c.imageLength]);
      feeds[value] = new this.ort.Tensor(compute as 'float32', zeros(), [rows, c.decoderHeads, c.imageLength, hd]);
    }
    return feeds;
  }

  /** codes [n, g·g] (every entry a valid code) → pixels [n, 3, R, R] float32. */
  async decodeImages(codes: Int32Array, n: number): Promise<Float32Array> {
    const { vqgan } = this.manifest;
    const grid = vqganGridSize(this.manifest.vqgan);
    const outputs = await this.sessions.vqgan.run({ [VQGAN_INPUTS.codes]: int64(this.ort, codes, [n, grid * grid]) });
    const pixelTensor = outputs[VQGAN_OUTPUTS.pixels]!;
    const pixels = (await pixelTensor.getData()) as Float32Array;
    pixelTensor.dispose();
    if (pixels.length !== n * vqgan.outCh * vqgan.resolution ** 2)
      throw new Error('VQGAN returned an unexpected pixel count');
    return pixels;
  }
}

/** A decoder run in progress: the per-prompt feeds and the KV cache of the steps so far. */
export class DecoderState {
  private position = 0;
  /** One feeds object for the whole run: each step swaps in its tokens, position and the new cache. */
  private readonly feeds: Feeds;
  /** Which output becomes which cache input on the next step. */
  private readonly cache: readonly CacheLink[];

  constructor(
    private readonly engine: DalleEngine,
    private readonly fixed: Feeds,
    past: Feeds,
  ) {
    this.feeds = { ...fixed, ...past };
    this.cache = cacheFeedback(engine.manifest.dalleBart);
  }

  async step(previous: readonly number[]): Promise<Float32Array> {
    const { ort, sessions } = this.engine;
    this.feeds[DECODER_INPUTS.inputIds] = int64(ort, [...previous, ...previous], [2 * previous.length]);
    this.feeds[DECODER_INPUTS.position] = int64(ort, [this.position++], []);
    const outputs = await sessions.decoder.run(this.feeds);
    for (const { present, past } of this.cache) {
      this.feeds[past]!.dispose();
      this.feeds[past] = outputs[present]!;
    }
    const logitTensor = outputs[DECODER_OUTPUTS.logits]!;
    const logits = (await logitTensor.getData()) as Float32Array;
    logitTensor.dispose();
    return logits;
  }

  /** Frees the cache and the per-prompt tensors (GPU buffers on WebGPU). */
  dispose(): void {
    for (const { past } of this.cache) this.feeds[past]?.dispose();
    for (const t of Object.values(this.fixed)) t.dispose();
  }
}
