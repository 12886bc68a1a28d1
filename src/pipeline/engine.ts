/**
 * One prompt through the model: encoder once (cond + uncond rows), 256 decoder steps, then VQGAN.
 * The KV cache either stays in host buffers the engine updates one slot per step (CPU runtimes:
 * only the new slot leaves the runtime), inside the decoder session (our own kernels: keepsOwnCache),
 * or is fed back as the decoder's `present.*` outputs (WebGPU, where they stay GPU buffers).
 * docs/model-format.md#kv-cache.
 */
import { vqganGridSize } from '../model/config.ts';
import {
  DECODER_INPUTS,
  ENCODER_INPUTS,
  VQGAN_INPUTS,
  VQGAN_OUTPUTS,
  cacheNames,
  crossAttentionNames,
  newSlotNames,
} from '../model/graph-io.ts';
import type { ModelManifest } from '../model/manifest.ts';
import type { EncodedPrompt } from '../text/bpe-tokenizer.ts';
import { throwIfCancelled } from './errors.ts';
import { createRng } from '../core/rng.ts';
import type { Rng } from '../core/rng.ts';
import { checkSeed } from '../core/seed.ts';
import { checkSamplingSettings, sampleGuidedTokens, sampleNextTokens } from './sampler.ts';
import type { SamplingSettings } from './sampler.ts';
import type { DalleSessions, OrtApi, SessionOptions, Tensor } from './runtime.ts';
import {
  DecoderState,
  HostCacheDecoder,
  SessionCacheDecoder,
  SlotWriteDecoder,
  SwappedCacheDecoder,
  cacheSlotsAt,
  int64,
} from './decoder-run.ts';
import type { CacheSlotWriter, CacheTensorFactory } from './decoder-run.ts';
import { encodedTextLength } from './text-length.ts';
import { candidateLayout, sampleNextTokensOnDevice } from './device-candidates.ts';
import type { CandidateLayout, CandidateSelector } from './device-candidates.ts';
import type { DecoderRun, Feeds } from './decoder-run.ts';
import { CapturedDecoderRun, CapturedDecoders } from './decoder-capture.ts';
import { foldsWeights } from './session-options.ts';
import { CONDITION_SCALE_INPUT, keepsOwnCache } from './own-decoder-session.ts';
import type { CapturedSessionFactory, DecoderCapture } from './decoder-capture.ts';

export interface TokenRequest {
  readonly prompt: EncodedPrompt;
  readonly unconditional: EncodedPrompt;
  /** How many images this request samples (a batch, or a whole drawing's images for ImageRequest). */
  readonly count: number;
  readonly seed: number;
  /**
   * Index of the first image in a larger drawing (a batch in its drawing, a part of best-of-N): image i samples from
   * stream firstImage + i.
   */
  readonly firstImage?: number;
  readonly sampling: SamplingSettings;
  readonly signal?: AbortSignal;
  /** Called after each step with the codes sampled so far ([n, imageLength], unsampled slots −1). */
  readonly onStep?: (step: number, codes: Int32Array) => void | Promise<void>;
}

export interface EngineOptions {
  /**
   * Keep the cache where the runtime runs (true on WebGPU: GPU buffers, see `cacheTensors` and `cacheSlots`).
   * Otherwise, when the decoder has `new.*` outputs, the engine keeps the cache in host buffers and writes
   * one slot per step.
   */
  readonly cacheOnDevice?: boolean;
  /**
   * With `cacheOnDevice`: makes the cache's tensors where the runtime keeps it (the worker's: WebGPU buffers).
   * Each run then allocates them once: one set written a slot per step with `cacheSlots`, else two sets the
   * decoder writes `present.*` into in turn (SwappedCacheDecoder); without it the runtime allocates `present.*`
   * every step and the first `past.*` is uploaded from host zeros.
   */
  readonly cacheTensors?: CacheTensorFactory;
  /**
   * With `cacheOnDevice`: cuts the logits down to each image's top-k candidates where the runtime left them (the
   * worker's: a WebGPU shader), so only those cross to the CPU (sampleNextTokensOnDevice; the codes drawn are the
   * same). Steps it cannot serve read the whole logits.
   */
  readonly candidates?: CandidateSelector;
  /**
   * With `cacheOnDevice` and `cacheTensors`: writes each step's new key/value slot into one set of cache tensors where
   * the runtime keeps them (the worker's: a WebGPU shader), for a decoder graph without `present.*` (the host-cache
   * file; loadDalle loads it when this is given with `hostCacheGraph`). No step then rewrites the whole cache
   * (SlotWriteDecoder); without it, or for a graph with `present.*`, the two sets are swapped instead.
   */
  readonly cacheSlots?: CacheSlotWriter;
  /**
   * Load the decoder graph without `present.*` outputs when the model has one (loadDalle; with
   * `cacheOnDevice` only together with `cacheSlots`): ONNX Runtime runs every node, fetched or not, so
   * the full graph would still rewrite the whole cache every step. The CPU runtimes and WebGPU set it;
   * the full graph stays the default so one session can also be fed back (tests compare both paths on it).
   */
  readonly hostCacheGraph?: boolean;
  /**
   * With slot writes (`cacheSlots`): run the decoder as a captured graph (WebGPU's `enableGraphCapture`; the worker's
   * tensors and copies on its device) when the model's host-cache graph allows it (manifest `graphCapture`). loadDalle
   * then loads the decoder captured for `capturedImages` images (default 1); a batch of another size replaces it.
   */
  readonly graphCapture?: DecoderCapture;
  readonly capturedImages?: number;
}

/**
 * Whether loadDalle loads a captured decoder (EngineOptions.graphCapture) for this model, given the decoder's session
 * options.
 */
export function capturesDecoder(options: EngineOptions, manifest: ModelManifest, decoder: SessionOptions): boolean {
  const slotWrites = options.cacheOnDevice === true && options.cacheSlots !== undefined;
  const graph = manifest.graphs.decoder;
  return (
    options.graphCapture !== undefined &&
    slotWrites &&
    loadsHostCacheGraph(options) &&
    graph.hostCacheFile !== undefined &&
    graph.graphCapture === true &&
    // q8 and q4 gather int8 embedding rows, which WebGPU cannot: only their capture file (folders since it) runs whole.
    (graph.captureFile !== undefined || (manifest.dtype !== 'q8' && manifest.dtype !== 'q4')) &&
    // A q8 decoder left unfolded would dequantize its weights into buffers the capture keeps.
    (manifest.dtype !== 'q8' || foldsWeights(decoder))
  );
}

/** loadDalle's, for a captured decoder: the session it loaded (captured for `rows` rows) and how to make others. */
export interface CapturedDecoderSessions {
  readonly rows: number;
  readonly create: CapturedSessionFactory;
}

/**
 * Whether loadDalle loads the decoder graph without `present.*` (`hostCacheFile`): for caches the engine keeps in
 * host buffers, and on the device when it writes their slots into cache tensors there (`cacheSlots` with
 * `cacheTensors`; otherwise it feeds or swaps `present.*`).
 */
export function loadsHostCacheGraph(options: EngineOptions): boolean {
  const slotWrites = options.cacheSlots !== undefined && options.cacheTensors !== undefined;
  return options.hostCacheGraph === true && (options.cacheOnDevice !== true || slotWrites);
}

export class DalleEngine {
  /**
   * Whether decoding runs the host-cache graph's interface (logits and `new.*` out; see EngineOptions): host buffers
   * the engine writes, or none where the session keeps its own cache (keepsOwnCache).
   */
  readonly hostCache: boolean;
  /**
   * Whether that host cache grows with the position: the decoder graph's `past.*` slot axis is symbolic (the
   * host-cache file of models exported since it has PAST_SLOTS_AXIS), so only the slots allocated so far are passed.
   */
  readonly growingCache: boolean;
  private readonly cacheTensors: CacheTensorFactory | undefined;
  private readonly candidates: CandidateSelector | undefined;
  private readonly cacheSlots: CacheSlotWriter | undefined;
  /** The decoder as a captured graph (EngineOptions.graphCapture), which then owns the decoder session. */
  private readonly captured: { readonly decoders: CapturedDecoders; readonly io: DecoderCapture } | undefined;
  private lastDecodeMsPerImage: number | undefined;
  private gpuSampledSteps = 0;

  /** @param captured loadDalle's, when it loaded `sessions.decoder` captured (capturesDecoder). */
  constructor(
    readonly ort: OrtApi,
    readonly sessions: DalleSessions,
    readonly manifest: ModelManifest,
    options: EngineOptions = {},
    captured?: CapturedDecoderSessions,
  ) {
    const slots = newSlotNames(manifest.dalleBart);
    this.hostCache = !options.cacheOnDevice && slots.every(({ key }) => sessions.decoder.outputNames.includes(key));
    const firstPast = cacheNames(manifest.dalleBart, 'past')[0]!.key;
    const pastInput = sessions.decoder.inputMetadata?.find((input) => input.name === firstPast);
    this.growingCache = this.hostCache && pastInput?.isTensor === true && typeof pastInput.shape[3] === 'string';
    this.cacheTensors = options.cacheOnDevice === true ? options.cacheTensors : undefined;
    this.candidates = options.cacheOnDevice === true ? options.candidates : undefined;
    // Slot writes need a graph that writes no present.* (else ORT would still rewrite the whole cache every step).
    const present = cacheNames(manifest.dalleBart, 'present')[0]!.key;
    const slotOutputs = slots.every(({ key }) => sessions.decoder.outputNames.includes(key));
    this.cacheSlots =
      this.cacheTensors && slotOutputs && !sessions.decoder.outputNames.includes(present)
        ? options.cacheSlots
        : undefined;
    const io = options.graphCapture;
    this.captured =
      captured && io && this.cacheSlots
        ? {
            io,
            decoders: new CapturedDecoders(manifest, io, captured.create, {
              rows: captured.rows,
              session: sessions.decoder,
            }),
          }
        : undefined;
  }

  /** Whether the decoder runs as a captured graph (EngineOptions.graphCapture). */
  get decoderCaptured(): boolean {
    return this.captured !== undefined;
  }

  /**
   * Makes the captured decoder's tensors and runs it twice (its warm-up and capture), so a runtime that cannot
   * capture it fails at load (loadDalle then loads the decoder uncaptured).
   */
  async prepareCapture(): Promise<void> {
    await this.captured?.decoders.prepare();
  }

  /**
   * Releases the decoder session: the captured one this engine holds, or `sessions.decoder` (loadDalle's dispose).
   * A captured decoder may have replaced `sessions.decoder` by then (a larger batch): the engine owns it.
   */
  releaseDecoder(): Promise<void> {
    return this.captured ? this.captured.decoders.release() : this.sessions.decoder.release();
  }

  /** Samples `count` × imageLength codes for one prompt. */
  async generateTokens(request: TokenRequest): Promise<Int32Array> {
    checkSamplingSettings(request.sampling);
    checkSeed(request.seed);
    const { manifest } = this;
    const n = request.count;
    const S = manifest.dalleBart.imageLength;
    const vocab = manifest.dalleBart.imageVocabSize + 1;
    const codeCount = manifest.specialTokens.imageCodes;
    // Guided logits where the session can mix them (our kernels): its LM head then runs on half the rows.
    const decoding = await this.beginDecoding(
      request.prompt,
      request.unconditional,
      n,
      request.sampling.conditionScale,
    );
    const rngs = Array.from({ length: n }, (_, i) => createRng(request.seed, (request.firstImage ?? 0) + i));
    const layout = this.candidates ? candidateLayout(n, vocab, codeCount, request.sampling) : null;
    const result = new Int32Array(n * S).fill(-1);
    let previous = new Array<number>(n).fill(manifest.specialTokens.imageStart);
    try {
      for (let step = 0; step < S; step++) {
        throwIfCancelled(request.signal);
        const logits = await decoding.stepLogits(previous);
        const next = await this.sampleStep(logits, n, request.sampling, rngs, layout, decoding.guided === true);
        for (let i = 0; i < n; i++) result[i * S + step] = next[i]!;
        previous = Array.from(next);
        await request.onStep?.(step, result);
      }
    } finally {
      decoding.dispose();
    }
    return result;
  }

  /** Each image's next code from one step's logits (disposed here): the device's candidates if they serve. */
  private async sampleStep(
    logits: Tensor,
    n: number,
    sampling: SamplingSettings,
    rngs: readonly Rng[],
    layout: CandidateLayout | null,
    guided: boolean,
  ): Promise<Int32Array> {
    try {
      const select = guided ? undefined : this.candidates;
      const onDevice = select && layout && (await sampleNextTokensOnDevice(select, logits, layout, sampling, rngs));
      if (onDevice) {
        this.gpuSampledSteps++;
        return onDevice;
      }
      const { imageVocabSize } = this.manifest.dalleBart;
      const all = (await logits.getData()) as Float32Array;
      const sample = guided ? sampleGuidedTokens : sampleNextTokens;
      return sample(all, n, imageVocabSize + 1, this.manifest.specialTokens.imageCodes, sampling, rngs);
    } finally {
      logits.dispose();
    }
  }

  /**
   * Runs the encoder for one prompt and returns a decoder positioned at step 0 for n images
   * (2n rows: cond × n, then uncond × n). Each `step` feeds the n previous tokens and returns
   * the raw logits [2n, V+1]; callers choose the next tokens (sampling, or teacher forcing in reports).
   * With `guidance` (the condition scale), a session that can mix the rows before its LM head (our kernels:
   * keepsOwnCache) returns each image's super-conditioned logits [n, V+1] instead, and the run says so (`guided`).
   */
  async beginDecoding(
    prompt: EncodedPrompt,
    unconditional: EncodedPrompt,
    n: number,
    guidance?: number,
  ): Promise<DecoderRun> {
    const { ort, manifest } = this;
    const c = manifest.dalleBart;
    const rows = [prompt, unconditional];
    // Both rows cut to the longer one's unpadded length when the graphs allow it (docs/model-format.md#text-length);
    // a captured decoder's text axis is fixed at its maximum.
    const T = this.captured ? c.maxTextLength : encodedTextLength(manifest, rows);
    // mini's text embedding has one row fewer than its vocab.json (docs/model-format.md#tokenizer):
    // map such ids to <unk>.
    const ids = rows.flatMap((row) =>
      row.ids.slice(0, T).map((id) => (id < c.encoderVocabSize ? id : manifest.specialTokens.unk)),
    );
    const attentionMask = int64(
      ort,
      rows.flatMap((row) => row.attentionMask.slice(0, T)),
      [2, T],
    );
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
    if (this.captured) return this.beginCaptured(n, fixed);
    const S = c.imageLength;
    const cacheRows = 2 * n;
    const made: Feeds = {};
    try {
      if (this.hostCache && keepsOwnCache(this.sessions.decoder)) {
        if (guidance !== undefined) fixed[CONDITION_SCALE_INPUT] = new ort.Tensor('float32', [guidance], []);
        return new SessionCacheDecoder(this, fixed, guidance !== undefined);
      }
      if (this.hostCache) {
        const slots = this.growingCache ? cacheSlotsAt(0, S) : S;
        const past = await this.emptyCache('past', cacheRows, slots, this.hostZeros, made);
        return new HostCacheDecoder(this, fixed, past, this.growingCache);
      }
      if (!this.cacheTensors)
        return new DecoderState(this, fixed, await this.emptyCache('past', cacheRows, S, this.hostZeros, made));
      const past = await this.emptyCache('past', cacheRows, S, this.cacheTensors, made);
      if (this.cacheSlots) return new SlotWriteDecoder(this, fixed, past, this.cacheSlots);
      const spare = await this.emptyCache('present', cacheRows, S, this.cacheTensors, made);
      return new SwappedCacheDecoder(this, fixed, past, spare);
    } catch (error) {
      // Out of memory, device lost: nothing of this run stays allocated.
      for (const t of [...Object.values(made), ...Object.values(fixed)]) t.dispose();
      throw error;
    }
  }

  /** A run on the captured decoder for 2n rows, the prompt's mask and cross keys/values copied into its tensors. */
  private async beginCaptured(n: number, fixed: Feeds): Promise<DecoderRun> {
    const { io, decoders } = this.captured!;
    try {
      const run = new CapturedDecoderRun(await decoders.forImages(n), n, io, this.cacheSlots!, this.manifest);
      const { [DECODER_INPUTS.attentionMask]: mask, ...cross } = fixed;
      run.load(mask!.data as BigInt64Array, cross);
      return run;
    } finally {
      for (const tensor of Object.values(fixed)) tensor.dispose();
    }
  }

  /** Zeros in host memory: the CPU runtimes' cache, and the first `past.*` on WebGPU without `cacheTensors`. */
  private readonly hostZeros: CacheTensorFactory = (type, dims) => {
    const size = dims.reduce((a, b) => a * b, 1);
    const zeros = type === 'float16' ? (new Uint16Array(size) as unknown as Float32Array) : new Float32Array(size);
    return Promise.resolve(new this.ort.Tensor(type as 'float32', zeros, dims));
  };

  /** A zero cache from `make`, named as the graph's `past.*` inputs or `present.*` outputs; `made` collects it too. */
  private async emptyCache(
    kind: 'past' | 'present',
    rows: number,
    slots: number,
    make: CacheTensorFactory,
    made: Feeds,
  ): Promise<Feeds> {
    const c = this.manifest.dalleBart;
    const hd = c.dModel / c.decoderHeads;
    const cache: Feeds = {};
    // Keys [rows, H, hd, slots], values [rows, H, slots, hd] (docs/model-format.md#kv-cache).
    for (const { key, value } of cacheNames(c, kind)) {
      for (const [name, dims] of [
        [key, [rows, c.decoderHeads, hd, slots]],
        [value, [rows, c.decoderHeads, slots, hd]],
      ] as const) {
        cache[name] = made[name] = await make(this.manifest.graphs.decoder.compute, dims);
      }
    }
    return cache;
  }

  /** Steps so far whose codes came from the device's candidates (EngineOptions.candidates), for benchmarks. */
  get stepsSampledOnDevice(): number {
    return this.gpuSampledSteps;
  }

  /** Milliseconds per image of the latest VQGAN decode (previews budget with it); undefined before the first. */
  get decodeMsPerImage(): number | undefined {
    return this.lastDecodeMsPerImage;
  }

  /** codes [n, g·g] (every entry a valid code) → pixels [n, 3, R, R] float32. */
  async decodeImages(codes: Int32Array, n: number): Promise<Float32Array> {
    const { vqgan } = this.manifest;
    const grid = vqganGridSize(this.manifest.vqgan);
    const started = performance.now();
    const outputs = await this.sessions.vqgan.run({ [VQGAN_INPUTS.codes]: int64(this.ort, codes, [n, grid * grid]) });
    this.lastDecodeMsPerImage = (performance.now() - started) / n;
    const pixelTensor = outputs[VQGAN_OUTPUTS.pixels]!;
    const pixels = (await pixelTensor.getData()) as Float32Array;
    pixelTensor.dispose();
    if (pixels.length !== n * vqgan.outCh * vqgan.resolution ** 2)
      throw new Error('VQGAN returned an unexpected pixel count');
    return pixels;
  }
}
