/**
 * The decoder as a captured graph (WebGPU's `enableGraphCapture`): ONNX Runtime records one step's kernels once and
 * replays them, instead of dispatching each of the step's hundreds of kernels from JavaScript every step. A captured
 * session has every shape fixed (its rows, the text at `maxTextLength`, all S cache slots) and binds its inputs and
 * outputs on its first run, so they live in tensors fixed for the session's life: each step writes its ids and
 * position into theirs, each prompt its mask and the encoder's cross keys/values, and the KV cache is written one slot
 * per step as in SlotWriteDecoder. A batch of fewer images runs on the same session, its spare rows padded; only a
 * larger one replaces it. docs/model-format.md#graph-capture.
 */
import { DECODER_INPUTS, DECODER_OUTPUTS, cacheNames, crossAttentionNames, newSlotNames } from '../model/graph-io.ts';
import type { ModelManifest } from '../model/manifest.ts';
import { hostLogits } from './decoder-run.ts';
import type { CacheSlotWrite, CacheSlotWriter, DecoderRun, Feeds } from './decoder-run.ts';
import type { Session, SessionOptions, Tensor } from './runtime.ts';

/** Elements of a copy between two tensors: `count` elements from `from` in the source to `to` in the target. */
export interface CopyRange {
  readonly from: number;
  readonly to: number;
  readonly count: number;
}

/** What a captured decoder needs from where the runtime runs (EngineOptions.graphCapture; the worker's: WebGPU). */
export interface DecoderCapture {
  /** A zero-filled tensor there, released by its `dispose`. */
  readonly tensor: (type: 'float32' | 'float16' | 'int64', dims: readonly number[]) => Promise<Tensor>;
  /** Writes host values into such a tensor, ahead of the next run. */
  readonly write: (target: Tensor, values: BigInt64Array) => void;
  /** Zeroes such a tensor, ahead of the next run. */
  readonly clear: (target: Tensor) => void;
  /**
   * Copies a tensor the runtime returned (the encoder's cross keys/values) or made here into such a tensor: all of it
   * (the same type and size), or the given element ranges.
   */
  readonly copy: (source: Tensor, target: Tensor, ranges?: readonly CopyRange[]) => void;
  /** A tensor over `target`'s storage whose `dispose` leaves it alone (the step's logits, handed to the sampler). */
  readonly borrow: (target: Tensor) => Tensor;
}

/** loadDalle's: a session of the decoder for `rows` rows with every shape fixed (capturedDecoderOptions). */
export type CapturedSessionFactory = (rows: number) => Promise<Session>;

/** The decoder's session options for a captured session of `rows` rows: every symbolic axis fixed, outputs on GPU. */
export function capturedDecoderOptions(options: SessionOptions, manifest: ModelManifest, rows: number): SessionOptions {
  const c = manifest.dalleBart;
  // onnxruntime-web's JSEP build reads the session's flag; its native WebGPU EP build only an EP given as an object.
  const executionProviders = options.executionProviders?.map((ep) => (ep === 'webgpu' ? { name: 'webgpu' } : ep));
  return {
    ...options,
    ...(executionProviders ? { executionProviders } : {}),
    enableGraphCapture: true,
    freeDimensionOverrides: { batch: rows, text: c.maxTextLength, past_slots: c.imageLength },
    preferredOutputLocation: 'gpu-buffer',
  };
}

/** One captured session and the tensors bound to it: `rows` = 2 × the images it runs at most. */
class CapturedDecoder {
  /** The run whose prompt is loaded; an older run stepping on would read the newer prompt's tensors. */
  owner: CapturedDecoderRun | undefined;
  /** A run failed: the session's state is unknown, so the next batch makes a new one. */
  broken = false;
  /** Released (replaced by a larger one): a run still holding it must not step on. */
  released = false;
  /** Set once the first run has bound the tensors: later runs are replays, their outputs already in `outputs`. */
  private bound = false;
  /** Logits of the first n images' rows ([2n, V]), for batches of fewer images than the session runs. */
  private readonly compacted = new Map<number, Promise<Tensor>>();

  /** Each layer's slot write after a run: its `new.*` outputs into its `past.*` inputs (the same every step). */
  readonly slotWrites: readonly CacheSlotWrite[];

  private constructor(
    readonly rows: number,
    readonly session: Session,
    readonly feeds: Feeds,
    readonly outputs: Feeds,
    private readonly io: DecoderCapture,
    manifest: ModelManifest,
  ) {
    const past = cacheNames(manifest.dalleBart, 'past');
    this.slotWrites = newSlotNames(manifest.dalleBart).map((slot, l) => ({
      newKey: outputs[slot.key]!,
      newValue: outputs[slot.value]!,
      pastKey: feeds[past[l]!.key]!,
      pastValue: feeds[past[l]!.value]!,
    }));
  }

  static async create(session: Session, rows: number, manifest: ModelManifest, io: DecoderCapture) {
    const c = manifest.dalleBart;
    const { compute } = manifest.graphs.decoder;
    const [H, T, S, d] = [c.decoderHeads, c.maxTextLength, c.imageLength, c.dModel];
    const hd = d / H;
    const made: Tensor[] = [];
    const make = async (type: 'float32' | 'float16' | 'int64', dims: number[]) => {
      const tensor = await io.tensor(type, dims);
      made.push(tensor);
      return tensor;
    };
    try {
      const feeds: Feeds = {
        [DECODER_INPUTS.inputIds]: await make('int64', [rows]),
        [DECODER_INPUTS.position]: await make('int64', []),
        [DECODER_INPUTS.attentionMask]: await make('int64', [2, T]),
      };
      for (const { key, value } of crossAttentionNames(c)) {
        feeds[key] = await make(compute, [2, H, hd, T]);
        feeds[value] = await make(compute, [2, H, T, hd]);
      }
      for (const { key, value } of cacheNames(c, 'past')) {
        feeds[key] = await make(compute, [rows, H, hd, S]);
        feeds[value] = await make(compute, [rows, H, S, hd]);
      }
      const outputs: Feeds = { [DECODER_OUTPUTS.logits]: await make('float32', [rows, c.imageVocabSize + 1]) };
      for (const { key, value } of newSlotNames(c)) {
        outputs[key] = await make(compute, [rows, d]);
        outputs[value] = await make(compute, [rows, d]);
      }
      return new CapturedDecoder(rows, session, feeds, outputs, io, manifest);
    } catch (error) {
      for (const tensor of made) tensor.dispose();
      throw error;
    }
  }

  /** One run with the bound tensors; the outputs are in `outputs` afterwards. */
  async run(): Promise<void> {
    try {
      if (!this.bound) {
        await this.session.run(this.feeds, this.outputs);
        this.bound = true;
        return;
      }
      // ONNX Runtime writes the bound outputs and hands back tensors over them: releasing those leaves the buffers.
      const returned = await this.session.run(this.feeds, Object.keys(this.outputs));
      for (const tensor of Object.values(returned)) tensor.dispose();
    } catch (error) {
      this.broken = true;
      throw error;
    }
  }

  /** The logits of a batch of `images` images: all the rows, or the first `images` of each half copied together. */
  async logits(images: number, vocab: number): Promise<Tensor> {
    const all = this.outputs[DECODER_OUTPUTS.logits]!;
    const capacity = this.rows / 2;
    if (images === capacity) return this.io.borrow(all);
    let made = this.compacted.get(images);
    if (!made) {
      made = this.io.tensor('float32', [2 * images, vocab]);
      this.compacted.set(images, made);
      made.catch(() => this.compacted.delete(images));
    }
    const compact = await made;
    const count = images * vocab;
    this.io.copy(all, compact, [
      { from: 0, to: 0, count },
      { from: capacity * vocab, to: count, count },
    ]);
    return this.io.borrow(compact);
  }

  async release(): Promise<void> {
    this.released = true;
    try {
      await this.session.release();
    } finally {
      const compacted = await Promise.allSettled(this.compacted.values());
      for (const result of compacted) if (result.status === 'fulfilled') result.value.dispose();
      for (const tensor of [...Object.values(this.feeds), ...Object.values(this.outputs)]) tensor.dispose();
    }
  }
}

/**
 * The captured decoder: one session at a time, for the largest batch so far (loadDalle's first); the engine owns it
 * (and, in capture mode, the decoder session).
 */
export class CapturedDecoders {
  private current: Promise<CapturedDecoder> | undefined;
  private idle: { rows: number; session: Session } | undefined;
  /** The most rows a session has been made for: a new one (after a failure) is made as large again. */
  private capacity: number;

  /** @param first the session loadDalle made, captured for `rows` rows. */
  constructor(
    private readonly manifest: ModelManifest,
    private readonly io: DecoderCapture,
    private readonly create: CapturedSessionFactory,
    first: { rows: number; session: Session },
  ) {
    this.idle = first;
    this.capacity = first.rows;
  }

  /** A captured decoder running at least `images` images: the current one, or a new session replacing it. */
  forImages(images: number): Promise<CapturedDecoder> {
    const previous = this.current;
    const next = (async () => {
      const held = await previous?.catch(() => undefined);
      if (held && !held.broken && held.rows >= 2 * images) return held;
      await held?.release();
      const idle = this.idle;
      this.idle = undefined;
      const rows = Math.max(2 * images, this.capacity);
      this.capacity = rows;
      if (idle && idle.rows !== rows) await idle.session.release();
      const session = idle?.rows === rows ? idle.session : await this.create(rows);
      try {
        return await CapturedDecoder.create(session, rows, this.manifest, this.io);
      } catch (error) {
        await session.release();
        throw error;
      }
    })();
    this.current = next;
    return next;
  }

  /**
   * Makes the first session's tensors and runs it twice (its warm-up and its capture), so that a runtime that cannot
   * capture this graph fails here, at load, where the caller can still load the decoder uncaptured.
   */
  async prepare(): Promise<void> {
    const rows = this.idle?.rows;
    if (rows === undefined) return;
    const decoder = await this.forImages(rows / 2);
    const mask = decoder.feeds[DECODER_INPUTS.attentionMask]!;
    this.io.write(mask, new BigInt64Array(mask.size).fill(1n));
    await decoder.run();
    await decoder.run();
  }

  /** Releases the session and its tensors. */
  async release(): Promise<void> {
    const held = await this.current?.catch(() => undefined);
    const idle = this.idle;
    this.current = undefined;
    this.idle = undefined;
    try {
      await held?.release();
    } finally {
      await idle?.session.release();
    }
  }
}

/**
 * A decoder run of `images` images on a captured decoder: the prompt's mask and cross keys/values copied into its
 * tensors, the cache zeroed; then each step writes its ids (spare rows: the start token) and position, replays the
 * session, and writes the new slot into the cache.
 */
export class CapturedDecoderRun implements DecoderRun {
  private position = 0;
  /** Every row's previous token, reused each step: the images' in each half, the start token in the spare rows. */
  private readonly ids: BigInt64Array<ArrayBuffer>;

  constructor(
    private readonly decoder: CapturedDecoder,
    private readonly images: number,
    private readonly io: DecoderCapture,
    private readonly writer: CacheSlotWriter,
    private readonly manifest: ModelManifest,
  ) {
    this.ids = new BigInt64Array(decoder.rows).fill(BigInt(manifest.specialTokens.imageStart));
  }

  /** Loads one prompt: its [2, T] mask and the encoder's cross keys/values (still the caller's to dispose). */
  load(mask: BigInt64Array, cross: Feeds): void {
    const { feeds } = this.decoder;
    this.io.write(feeds[DECODER_INPUTS.attentionMask]!, mask);
    for (const [name, tensor] of Object.entries(cross)) this.io.copy(tensor, feeds[name]!);
    // Slots from the position on are masked, but a masked NaN or infinity left by an earlier prompt would still
    // poison the softmax's weighted sum (0 · NaN): start from zeros as a fresh cache does.
    for (const { key, value } of cacheNames(this.manifest.dalleBart, 'past')) {
      this.io.clear(feeds[key]!);
      this.io.clear(feeds[value]!);
    }
    this.decoder.owner = this;
  }

  async step(previous: readonly number[]): Promise<Float32Array> {
    return hostLogits(await this.stepLogits(previous));
  }

  async stepLogits(previous: readonly number[]): Promise<Tensor> {
    const { decoder } = this;
    if (decoder.owner !== this || decoder.released)
      throw new Error('a newer decoding has taken over this captured decoder');
    if (previous.length !== this.images) throw new Error(`expected ${this.images} previous tokens`);
    const position = this.position++;
    const half = decoder.rows / 2;
    previous.forEach((token, i) => {
      this.ids[i] = this.ids[half + i] = BigInt(token);
    });
    this.io.write(decoder.feeds[DECODER_INPUTS.inputIds]!, this.ids);
    this.io.write(decoder.feeds[DECODER_INPUTS.position]!, BigInt64Array.of(BigInt(position)));
    await decoder.run();
    await this.writer(decoder.slotWrites, position);
    return decoder.logits(this.images, this.manifest.dalleBart.imageVocabSize + 1);
  }

  /** The tensors stay with the captured decoder, for the next prompt. */
  dispose(): void {
    if (this.decoder.owner === this) this.decoder.owner = undefined;
  }
}
