/**
 * A decoder run for one prompt: the per-prompt feeds and the KV cache, stepped one token at a time.
 * Two ways to keep the cache (docs/model-format.md#kv-cache): `present.*` fed back as the next
 * `past.*` (WebGPU: GPU buffers), or host buffers the run writes one slot per step (CPU runtimes).
 */
import { DECODER_INPUTS, DECODER_OUTPUTS, cacheFeedback, cacheNames, newSlotNames } from '../model/graph-io.ts';
import type { CacheLink, KeyValueNames } from '../model/graph-io.ts';
import type { DalleEngine } from './engine.ts';
import type { OrtApi, Tensor } from './runtime.ts';

export type Feeds = Record<string, Tensor>;

export function int64(ort: OrtApi, values: ArrayLike<number>, dims: readonly number[]): Tensor {
  return new ort.Tensor(
    'int64',
    BigInt64Array.from(values, (v) => BigInt(v)),
    dims,
  );
}

/** A decoder run in progress: each `step` feeds the n previous tokens and returns the raw logits [2n, V+1]. */
export interface DecoderRun {
  step(previous: readonly number[]): Promise<Float32Array>;
  /** Frees the cache and the per-prompt tensors (GPU buffers on WebGPU). */
  dispose(): void;
}

/** The per-prompt feeds and the KV cache of the steps so far, `present.*` fed back as the next `past.*`. */
export class DecoderState implements DecoderRun {
  protected position = 0;
  /** One feeds object for the whole run: each step swaps in its tokens, position and the new cache. */
  protected readonly feeds: Feeds;
  /** Which output becomes which cache input on the next step. */
  private readonly cache: readonly CacheLink[];

  constructor(
    protected readonly engine: DalleEngine,
    private readonly fixed: Feeds,
    past: Feeds,
  ) {
    this.feeds = { ...fixed, ...past };
    this.cache = cacheFeedback(engine.manifest.dalleBart);
  }

  async step(previous: readonly number[]): Promise<Float32Array> {
    const outputs = await this.run(previous, [...this.cache.map(({ present }) => present), DECODER_OUTPUTS.logits]);
    for (const { present, past } of this.cache) {
      this.feeds[past]!.dispose();
      this.feeds[past] = outputs[present]!;
    }
    return this.logits(outputs);
  }

  /** One decoder run at the current position; `fetches` limits which outputs leave the runtime. */
  protected async run(previous: readonly number[], fetches: readonly string[]): Promise<Feeds> {
    const { ort, sessions } = this.engine;
    this.feeds[DECODER_INPUTS.inputIds] = int64(ort, [...previous, ...previous], [2 * previous.length]);
    this.feeds[DECODER_INPUTS.position] = int64(ort, [this.position++], []);
    return sessions.decoder.run(this.feeds, [...fetches]);
  }

  protected async logits(outputs: Feeds): Promise<Float32Array> {
    const logitTensor = outputs[DECODER_OUTPUTS.logits]!;
    const logits = (await logitTensor.getData()) as Float32Array;
    logitTensor.dispose();
    return logits;
  }

  dispose(): void {
    for (const { past } of this.cache) this.feeds[past]?.dispose();
    for (const t of Object.values(this.fixed)) t.dispose();
  }
}

/**
 * The cache in host buffers, reused for the whole run: each step fetches only the logits and the
 * new slot (`new.*`) and writes that slot into the `past.*` buffers. The whole cache is never copied
 * out of the runtime or reallocated; the runtime still copies the `past.*` inputs in each run.
 */
export class HostCacheDecoder extends DecoderState {
  private readonly fetches: readonly string[];
  private readonly layers: readonly { past: KeyValueNames; slot: KeyValueNames }[];

  constructor(engine: DalleEngine, fixed: Feeds, past: Feeds) {
    super(engine, fixed, past);
    const c = engine.manifest.dalleBart;
    const pastNames = cacheNames(c, 'past');
    this.layers = newSlotNames(c).map((slot, l) => ({ slot, past: pastNames[l]! }));
    this.fetches = [DECODER_OUTPUTS.logits, ...this.layers.flatMap(({ slot }) => [slot.key, slot.value])];
  }

  override async step(previous: readonly number[]): Promise<Float32Array> {
    const position = this.position;
    const outputs = await this.run(previous, this.fetches);
    const c = this.engine.manifest.dalleBart;
    const S = c.imageLength;
    const hd = c.dModel / c.decoderHeads;
    for (const { past, slot } of this.layers) {
      // Keys [B, H, hd, S]: slot `position` is every S-th entry. Values [B, H, S, hd]: one hd-run per (row, head).
      const keys = this.feeds[past.key]!.data as Float32Array | Uint16Array;
      const newKey = (await outputs[slot.key]!.getData()) as Float32Array | Uint16Array;
      for (let i = 0; i < newKey.length; i++) keys[i * S + position] = newKey[i]!;
      const values = this.feeds[past.value]!.data as Float32Array | Uint16Array;
      const newValue = (await outputs[slot.value]!.getData()) as Float32Array | Uint16Array;
      for (let r = 0; r < newValue.length / hd; r++)
        values.set(newValue.subarray(r * hd, (r + 1) * hd), (r * S + position) * hd);
      outputs[slot.key]!.dispose();
      outputs[slot.value]!.dispose();
    }
    return this.logits(outputs);
  }
}
