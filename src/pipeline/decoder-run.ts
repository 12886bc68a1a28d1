/**
 * A decoder run for one prompt: the per-prompt feeds and the KV cache, stepped one token at a time.
 * Ways to keep the cache (docs/model-format.md#kv-cache): `present.*` fed back as the next `past.*`
 * (WebGPU: GPU buffers), into two preallocated sets used in turn when the runtime can write into given
 * tensors (WebGPU), host buffers the run writes one slot per step (CPU runtimes), or inside the session itself (our
 * own kernels: SessionCacheDecoder).
 */
import { DECODER_INPUTS, DECODER_OUTPUTS, cacheFeedback, cacheNames, newSlotNames } from '../model/graph-io.ts';
import type { CacheLink, KeyValueNames } from '../model/graph-io.ts';
import type { DalleEngine } from './engine.ts';
import type { OrtApi, Session, Tensor } from './runtime.ts';

export type Feeds = Record<string, Tensor>;

export function int64(ort: OrtApi, values: ArrayLike<number>, dims: readonly number[]): Tensor {
  return new ort.Tensor(
    'int64',
    BigInt64Array.from(values, (v) => BigInt(v)),
    dims,
  );
}

function isNameList(fetches: readonly string[] | object): fetches is readonly string[] {
  return Array.isArray(fetches);
}

/** A step's logits as host data (downloaded if the runtime left them on the GPU); the tensor is disposed. */
export async function hostLogits(logits: Tensor): Promise<Float32Array> {
  try {
    return (await logits.getData()) as Float32Array;
  } finally {
    logits.dispose();
  }
}

/**
 * A decoder run in progress: each step feeds the n previous tokens and returns the raw logits [2n, V+1], or where
 * `guided` each image's super-conditioned logits [n, V+1].
 */
export interface DecoderRun {
  /** Whether the steps return logits already super-conditioned (our kernels, asked by beginDecoding's `guidance`). */
  readonly guided?: boolean;
  step(previous: readonly number[]): Promise<Float32Array>;
  /** The same logits as the runtime returned them (WebGPU: possibly a GPU buffer); the caller disposes them. */
  stepLogits(previous: readonly number[]): Promise<Tensor>;
  /** Frees the cache and the per-prompt tensors (GPU buffers on WebGPU). */
  dispose(): void;
}

/** The per-prompt feeds and the KV cache of the steps so far, `present.*` fed back as the next `past.*`. */
export class DecoderState implements DecoderRun {
  protected position = 0;
  /** One feeds object for the whole run: each step swaps in its tokens, position and the new cache. */
  protected readonly feeds: Feeds;
  /** Which output becomes which cache input on the next step. */
  protected readonly cache: readonly CacheLink[];

  constructor(
    protected readonly engine: DalleEngine,
    private readonly fixed: Feeds,
    past: Feeds,
  ) {
    this.feeds = { ...fixed, ...past };
    this.cache = cacheFeedback(engine.manifest.dalleBart);
  }

  async step(previous: readonly number[]): Promise<Float32Array> {
    return hostLogits(await this.stepLogits(previous));
  }

  async stepLogits(previous: readonly number[]): Promise<Tensor> {
    const outputs = await this.run(previous, [...this.cache.map(({ present }) => present), DECODER_OUTPUTS.logits]);
    for (const { present, past } of this.cache) {
      this.feeds[past]!.dispose();
      this.feeds[past] = outputs[present]!;
    }
    return outputs[DECODER_OUTPUTS.logits]!;
  }

  /**
   * One decoder run at the current position; `fetches` limits which outputs leave the runtime, or maps them to
   * the tensors to write them into (null: the runtime allocates).
   */
  protected async run(
    previous: readonly number[],
    fetches: readonly string[] | Readonly<Record<string, Tensor | null>>,
  ): Promise<Feeds> {
    const { ort, sessions } = this.engine;
    this.feeds[DECODER_INPUTS.inputIds] = int64(ort, [...previous, ...previous], [2 * previous.length]);
    this.feeds[DECODER_INPUTS.position] = int64(ort, [this.position++], []);
    return sessions.decoder.run(this.feeds, isNameList(fetches) ? [...fetches] : { ...fetches });
  }

  dispose(): void {
    for (const { past } of this.cache) this.feeds[past]?.dispose();
    for (const t of Object.values(this.fixed)) t.dispose();
  }
}

/** The run that last began on each session keeping its own cache. */
const activeSessionRuns = new WeakMap<Session, SessionCacheDecoder>();

/**
 * The session keeps the self-attention cache itself (our own kernels: own-decoder-session.ts `keepsOwnCache`): each
 * step feeds the tokens and the position with the per-prompt feeds and fetches only the logits; no host cache.
 */
export class SessionCacheDecoder extends DecoderState {
  readonly guided: boolean;

  /** @param guided whether `fixed` holds the condition scale, so the session returns guided logits. */
  constructor(engine: DalleEngine, fixed: Feeds, guided = false) {
    super(engine, fixed, {});
    this.guided = guided;
    activeSessionRuns.set(engine.sessions.decoder, this);
  }

  override async stepLogits(previous: readonly number[]): Promise<Tensor> {
    // The session holds one cache: a run begun later on it took it over (interleaved runs would mix their slots).
    if (activeSessionRuns.get(this.engine.sessions.decoder) !== this)
      throw new Error('another decoder run began on this session, which keeps one cache: this run cannot go on');
    const outputs = await this.run(previous, [DECODER_OUTPUTS.logits]);
    return outputs[DECODER_OUTPUTS.logits]!;
  }
}

/** Makes a zero-filled KV cache tensor where the runtime keeps the cache (EngineOptions.cacheTensors). */
export type CacheTensorFactory = (type: 'float32' | 'float16', dims: readonly number[]) => Promise<Tensor>;

/**
 * `present.*` written into preallocated tensors, two sets used in turn: each step reads one set as `past.*` and
 * writes the other, then they swap. The cache is allocated once per run, never by the runtime per step, and
 * starts as the factory's zeros (WebGPU: fresh GPU buffers, nothing uploaded).
 */
export class SwappedCacheDecoder extends DecoderState {
  /** @param spare the second set, keyed by the `present.*` names it is written as. */
  constructor(
    engine: DalleEngine,
    fixed: Feeds,
    past: Feeds,
    private readonly spare: Feeds,
  ) {
    super(engine, fixed, past);
  }

  override async stepLogits(previous: readonly number[]): Promise<Tensor> {
    const outputs = await this.run(previous, { ...this.spare, [DECODER_OUTPUTS.logits]: null });
    // The runtime wrote into the spare tensors (onnxruntime-web returns those very objects; others may wrap them):
    // the factory's tensors, which own the buffers, change sides.
    for (const { present, past } of this.cache) {
      const read = this.feeds[past]!;
      this.feeds[past] = this.spare[present]!;
      this.spare[present] = read;
    }
    return outputs[DECODER_OUTPUTS.logits]!;
  }

  override dispose(): void {
    for (const t of Object.values(this.spare)) t.dispose();
    super.dispose();
  }
}

/** How many slots a growing host cache adds at a time (each growth copies the cache once). */
export const CACHE_CHUNK_SLOTS = 32;

/** Slots a growing host cache holds while it runs `position`: the slots before it and its own, in whole chunks. */
export function cacheSlotsAt(position: number, imageLength: number): number {
  return Math.min(imageLength, CACHE_CHUNK_SLOTS * Math.ceil((position + 1) / CACHE_CHUNK_SLOTS));
}

type CacheData = Float32Array | Uint16Array;

/**
 * The cache in host buffers, reused for the whole run: each step fetches only the logits and the
 * new slot (`new.*`) and writes that slot into the `past.*` buffers. The whole cache is never copied
 * out of the runtime or reallocated per step. With a `growing` cache (the host-cache file's symbolic
 * slot axis) the buffers hold only the slots allocated so far, CACHE_CHUNK_SLOTS more whenever the
 * position reaches the end, so the runtime's per-run copy of `past.*` (WASM) and the attention read
 * what has been written rather than all `imageLength` slots.
 */
export class HostCacheDecoder extends DecoderState {
  private readonly fetches: readonly string[];
  protected readonly layers: readonly { past: KeyValueNames; slot: KeyValueNames }[];
  /** Slots in the `past.*` buffers now. */
  private slots: number;

  constructor(
    engine: DalleEngine,
    fixed: Feeds,
    past: Feeds,
    private readonly growing = false,
  ) {
    super(engine, fixed, past);
    const c = engine.manifest.dalleBart;
    const pastNames = cacheNames(c, 'past');
    this.layers = newSlotNames(c).map((slot, l) => ({ slot, past: pastNames[l]! }));
    this.fetches = [DECODER_OUTPUTS.logits, ...this.layers.flatMap(({ slot }) => [slot.key, slot.value])];
    this.slots = past[pastNames[0]!.key]!.dims[3]!;
  }

  override async stepLogits(previous: readonly number[]): Promise<Tensor> {
    const position = this.position;
    const c = this.engine.manifest.dalleBart;
    if (this.growing) this.grow(cacheSlotsAt(position, c.imageLength));
    const outputs = await this.run(previous, this.fetches);
    try {
      await this.writeSlots(outputs, position);
    } catch (error) {
      outputs[DECODER_OUTPUTS.logits]!.dispose();
      throw error;
    } finally {
      for (const { slot } of this.layers) {
        outputs[slot.key]!.dispose();
        outputs[slot.value]!.dispose();
      }
    }
    return outputs[DECODER_OUTPUTS.logits]!;
  }

  /** Writes each layer's `new.*` slot into its `past.*` buffers at `position`. */
  protected async writeSlots(outputs: Feeds, position: number): Promise<void> {
    const S = this.slots;
    const c = this.engine.manifest.dalleBart;
    const hd = c.dModel / c.decoderHeads;
    for (const { past, slot } of this.layers) {
      // Keys [B, H, hd, S]: slot `position` is every S-th entry. Values [B, H, S, hd]: one hd-run per (row, head).
      const keys = this.feeds[past.key]!.data as CacheData;
      const newKey = (await outputs[slot.key]!.getData()) as CacheData;
      for (let i = 0; i < newKey.length; i++) keys[i * S + position] = newKey[i]!;
      const values = this.feeds[past.value]!.data as CacheData;
      const newValue = (await outputs[slot.value]!.getData()) as CacheData;
      for (let r = 0; r < newValue.length / hd; r++)
        values.set(newValue.subarray(r * hd, (r + 1) * hd), (r * S + position) * hd);
    }
  }

  /** Reallocates the `past.*` buffers with `slots` slots, the written ones copied over. */
  private grow(slots: number): void {
    const from = this.slots;
    if (slots <= from) return;
    const { ort } = this.engine;
    for (const { past } of this.layers) {
      const key = this.feeds[past.key]!;
      const value = this.feeds[past.value]!;
      const [rows, heads, hd] = key.dims as [number, number, number, number];
      const oldKeys = key.data as CacheData;
      const oldValues = value.data as CacheData;
      const keys = new (oldKeys.constructor as new (n: number) => CacheData)(rows * heads * hd * slots);
      const values = new (oldValues.constructor as new (n: number) => CacheData)(rows * heads * slots * hd);
      // Keys: one run of `from` slots per (row, head, channel). Values: one block of from × hd per (row, head).
      for (let r = 0; r < rows * heads * hd; r++) keys.set(oldKeys.subarray(r * from, (r + 1) * from), r * slots);
      for (let r = 0; r < rows * heads; r++)
        values.set(oldValues.subarray(r * from * hd, (r + 1) * from * hd), r * slots * hd);
      key.dispose();
      value.dispose();
      this.feeds[past.key] = new ort.Tensor(key.type as 'float32', keys as Float32Array, [rows, heads, hd, slots]);
      this.feeds[past.value] = new ort.Tensor(value.type as 'float32', values as Float32Array, [
        rows,
        heads,
        slots,
        hd,
      ]);
    }
    this.slots = slots;
  }
}

/** One layer's slot write: the new key/value (`new.*`, one slot) into the cache tensors (`past.*`, S slots). */
export interface CacheSlotWrite {
  readonly newKey: Tensor;
  readonly newValue: Tensor;
  /** [B, H, hd, S] */
  readonly pastKey: Tensor;
  /** [B, H, S, hd] */
  readonly pastValue: Tensor;
}

/**
 * Writes every layer's new slot into its cache tensors at `position` where they live (the worker's: a WebGPU
 * shader). It may return once the writes are queued, before the next decoder run: that run reads them in order.
 */
export type CacheSlotWriter = (writes: readonly CacheSlotWrite[], position: number) => Promise<void>;

/**
 * The cache in tensors where the runtime keeps it (WebGPU buffers, allocated once with all S slots), written one slot
 * per step by a CacheSlotWriter: the decoder graph without `present.*` runs, so no step rewrites the whole cache (the
 * full graph's `Where` blend writes every slot of every layer; docs/model-format.md#kv-cache).
 */
export class SlotWriteDecoder extends HostCacheDecoder {
  constructor(
    engine: DalleEngine,
    fixed: Feeds,
    past: Feeds,
    private readonly writer: CacheSlotWriter,
  ) {
    super(engine, fixed, past, false);
  }

  protected override writeSlots(outputs: Feeds, position: number): Promise<void> {
    const writes = this.layers.map(({ past, slot }) => ({
      newKey: outputs[slot.key]!,
      newValue: outputs[slot.value]!,
      pastKey: this.feeds[past.key]!,
      pastValue: this.feeds[past.value]!,
    }));
    return this.writer(writes, position);
  }
}
