/**
 * The decoder as a captured graph (WebGPU's `enableGraphCapture`): ONNX Runtime records one step's kernels once and
 * replays them, instead of dispatching each of the step's hundreds of kernels from JavaScript every step. A captured
 * session has every shape fixed (its rows, the text at `maxTextLength`, all S cache slots) and binds its inputs and
 * outputs on its first run, so they live in tensors fixed for the session's life: each step writes its ids and
 * position into theirs, each prompt its mask and the encoder's cross keys/values, and the KV cache is written one slot
 * per step as in SlotWriteDecoder. One session is kept at a time; a batch with another image count replaces it.
 * docs/model-format.md#graph-capture.
 */
import { DECODER_INPUTS, DECODER_OUTPUTS, cacheNames, crossAttentionNames, newSlotNames } from '../model/graph-io.ts';
import type { ModelManifest } from '../model/manifest.ts';
import type { CacheSlotWriter, DecoderRun, Feeds } from './decoder-run.ts';
import type { Session, SessionOptions, Tensor } from './runtime.ts';

/** What a captured decoder needs from where the runtime runs (EngineOptions.graphCapture; the worker's: WebGPU). */
export interface DecoderCapture {
  /** A zero-filled tensor there, released by its `dispose`. */
  readonly tensor: (type: 'float32' | 'float16' | 'int64', dims: readonly number[]) => Promise<Tensor>;
  /** Writes host values into such a tensor, ahead of the next run. */
  readonly write: (target: Tensor, values: BigInt64Array) => void;
  /** Copies a tensor the runtime returned (the encoder's cross keys/values) into such a tensor of the same size. */
  readonly copy: (source: Tensor, target: Tensor) => void;
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

/** One captured session and the tensors bound to it. */
class CapturedDecoder {
  private constructor(
    readonly rows: number,
    readonly session: Session,
    readonly feeds: Feeds,
    readonly outputs: Feeds,
  ) {}

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
      // Never cleared between prompts: the slots from `position` on are masked, and every earlier one is rewritten.
      for (const { key, value } of cacheNames(c, 'past')) {
        feeds[key] = await make(compute, [rows, H, hd, S]);
        feeds[value] = await make(compute, [rows, H, S, hd]);
      }
      const outputs: Feeds = { [DECODER_OUTPUTS.logits]: await make('float32', [rows, c.imageVocabSize + 1]) };
      for (const { key, value } of newSlotNames(c)) {
        outputs[key] = await make(compute, [rows, d]);
        outputs[value] = await make(compute, [rows, d]);
      }
      return new CapturedDecoder(rows, session, feeds, outputs);
    } catch (error) {
      for (const tensor of made) tensor.dispose();
      throw error;
    }
  }

  async release(): Promise<void> {
    for (const tensor of [...Object.values(this.feeds), ...Object.values(this.outputs)]) tensor.dispose();
    await this.session.release();
  }
}

/** The captured decoder of the latest batch shape; the engine owns it (and, in capture mode, the decoder session). */
export class CapturedDecoders {
  private current: Promise<CapturedDecoder> | undefined;
  private idle: { rows: number; session: Session } | undefined;

  /** @param first the session loadDalle made (captured for `rows`), used while batches have that many rows. */
  constructor(
    private readonly manifest: ModelManifest,
    private readonly io: DecoderCapture,
    private readonly create: CapturedSessionFactory,
    first: { rows: number; session: Session },
  ) {
    this.idle = first;
  }

  /** The captured decoder for `rows` rows: the current one, or a new session replacing it. */
  forRows(rows: number): Promise<CapturedDecoder> {
    const previous = this.current;
    const next = (async () => {
      const held = await previous?.catch(() => undefined);
      if (held?.rows === rows) return held;
      await held?.release();
      const idle = this.idle;
      this.idle = undefined;
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

  /** Releases the session and its tensors. */
  async release(): Promise<void> {
    const held = await this.current?.catch(() => undefined);
    this.current = undefined;
    await held?.release();
    await this.idle?.session.release();
    this.idle = undefined;
  }
}

/**
 * A decoder run on a captured decoder: the prompt's mask and cross keys/values copied into its tensors, then each step
 * writes its ids and position, runs the session with the same tensors, and writes the new slot into the cache.
 */
export class CapturedDecoderRun implements DecoderRun {
  private position = 0;

  constructor(
    private readonly decoder: CapturedDecoder,
    private readonly io: DecoderCapture,
    private readonly writer: CacheSlotWriter,
    private readonly manifest: ModelManifest,
  ) {}

  /** Loads one prompt: its [2, T] mask and the encoder's cross keys/values (still the caller's to dispose). */
  load(mask: BigInt64Array, cross: Feeds): void {
    this.io.write(this.decoder.feeds[DECODER_INPUTS.attentionMask]!, mask);
    for (const [name, tensor] of Object.entries(cross)) this.io.copy(tensor, this.decoder.feeds[name]!);
  }

  async step(previous: readonly number[]): Promise<Float32Array> {
    const logits = await this.stepLogits(previous);
    try {
      return (await logits.getData()) as Float32Array;
    } finally {
      logits.dispose();
    }
  }

  async stepLogits(previous: readonly number[]): Promise<Tensor> {
    const { feeds, outputs, session } = this.decoder;
    if (2 * previous.length !== this.decoder.rows) throw new Error('a captured decoder runs a fixed number of images');
    const position = this.position++;
    this.io.write(
      feeds[DECODER_INPUTS.inputIds]!,
      BigInt64Array.from([...previous, ...previous], (v) => BigInt(v)),
    );
    this.io.write(feeds[DECODER_INPUTS.position]!, BigInt64Array.of(BigInt(position)));
    // The same tensors every run: a captured session replays with the ones bound on its first run.
    await session.run(feeds, outputs);
    const c = this.manifest.dalleBart;
    const writes = newSlotNames(c).map((slot, l) => {
      const past = cacheNames(c, 'past')[l]!;
      return {
        newKey: outputs[slot.key]!,
        newValue: outputs[slot.value]!,
        pastKey: feeds[past.key]!,
        pastValue: feeds[past.value]!,
      };
    });
    await this.writer(writes, position);
    return this.io.borrow(outputs[DECODER_OUTPUTS.logits]!);
  }

  /** The tensors stay with the captured decoder, for the next prompt. */
  dispose(): void {}
}
