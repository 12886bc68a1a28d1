/**
 * One layer's attention for every row and head of a decoder step on our WebAssembly kernels (attention-kernel.ts), in
 * the int8 GEMM's memory and shared among its threads by (row, head) pairs (attention-share.ts): scores, the softmax's
 * exponentials and the weighted sum of values in SIMD, the softmax's maximum and sum in TypeScript. Keys
 * [G, H, hd, slots] and values [G, H, slots, hd] are copied into the kernels' memory once per call, except those
 * already there from an earlier call (`fixedId`: the cross-attention tensors, the same for a whole drawing;
 * `appendOnly`: a caller's self-attention cache, a slot per step); `runOwnCache` keeps the self-attention cache here
 * itself, appending each step's slot.
 */
import { CHANNEL_BLOCK, SCORE_BLOCK } from './attention-kernel.ts';
import { attentionScratchFloats, packAttentionArgs } from './attention-share.ts';
import type { Int8Gemm } from './int8-gemm.ts';
import { padTo } from './int8-gemm-kernel.ts';

export interface AttentionLayer {
  /** [G, H, hd, slots] */
  readonly keys: Float32Array;
  /** [G, H, slots, hd] */
  readonly values: Float32Array;
  readonly slots: number;
  /** Rows per key/value group: row r reads group ⌊r / rowsPerGroup⌋ (self-attention 1, cross-attention n images). */
  readonly rowsPerGroup: number;
  /** Slots before this one are visible (self-attention: the position). */
  readonly visible?: number;
  /** [G, slots], 1 where visible (cross-attention: the text mask). */
  readonly mask?: ArrayLike<number>;
  /** This step's key and value per row, [B, H, hd]: one more column, always visible (self-attention). */
  readonly extra?: { readonly keys: Float32Array; readonly values: Float32Array };
  /**
   * The tensors do not change between calls (the same arrays, never written): copied into the kernel's memory once,
   * into a place kept under this name for whatever arrays the name is given next.
   */
  readonly fixedId?: string;
  /**
   * The cache is append-only under `id`: slots before `visible` that an earlier call with the same arrays copied are
   * never rewritten, so only the slots written since are copied (self-attention: one slot per step). The kernel's
   * copy is laid out for `capacity` slots, so it is allocated once however the caller grows its arrays.
   */
  readonly appendOnly?: { readonly id: string; readonly capacity: number };
}

export class Attention {
  // The arrays a place was last copied from, by identity: weakly, so a finished drawing's cache can be collected.
  private readonly fixed = new Map<string, { data: WeakRef<Float32Array>; at: number; floats: number }>();
  private readonly appendOnly = new Map<
    string,
    {
      keys: WeakRef<Float32Array>;
      values: WeakRef<Float32Array>;
      at: number;
      floats: number;
      capacity: number;
      copied: number;
    }
  >();
  private scratch = { floats: 0, at: 0 };
  /** Caches this object keeps (runOwnCache): keys then values from `at`, `floats` each. */
  private readonly owned = new Map<
    string,
    { at: number; floats: number; capacity: number; rows: number; filled: number }
  >();

  /** Attention in `gemm`'s memory, on its threads. */
  constructor(private readonly gemm: Int8Gemm) {}

  private allocate(bytes: number): number {
    return this.gemm.allocate(bytes);
  }

  private floats(): Float32Array {
    return new Float32Array(this.gemm.memory.buffer);
  }

  /** Where `data` sits in the kernel's memory: under `fixedId` once, else in the per-call scratch from `scratch.at`. */
  private place(data: Float32Array, fixedId: string | undefined, scratch: { at: number }): number {
    // Keys are read up to SCORE_BLOCK − 1 floats past their last slot (scores the caller never reads).
    const floats = padTo(data.length + SCORE_BLOCK, 16);
    if (fixedId === undefined) {
      const at = scratch.at;
      this.floats().set(data, at / 4);
      scratch.at += 4 * floats;
      return at;
    }
    const slot = this.fixed.get(fixedId);
    if (slot?.data.deref() === data) return slot.at;
    const at = slot && slot.floats >= floats ? slot.at : this.allocate(4 * floats);
    this.floats().set(data, at / 4);
    this.fixed.set(fixedId, { data: new WeakRef(data), at, floats: Math.max(floats, slot?.floats ?? 0) });
    return at;
  }

  /**
   * Keys then values of an append-only cache in the kernel's memory, laid out for `capacity` slots, the slots new since
   * the last call copied in.
   */
  private placeAppendOnly(layer: AttentionLayer, visible: number, hd: number): [number, number] {
    const { keys, values, slots } = layer;
    const { id, capacity } = layer.appendOnly!;
    if (capacity < slots) throw new Error(`an append-only cache of ${capacity} slots cannot take ${slots}`);
    const blocks = keys.length / (slots * hd);
    const floats = padTo(blocks * hd * capacity + SCORE_BLOCK, 16);
    let cache = this.appendOnly.get(id);
    const same = cache?.keys.deref() === keys && cache.values.deref() === values;
    if (!cache || !same || visible < cache.copied) {
      const reuse = cache && cache.floats >= floats && cache.capacity === capacity;
      const at = reuse ? cache!.at : this.allocate(8 * floats);
      const [keysRef, valuesRef] = [new WeakRef(keys), new WeakRef(values)];
      cache = { keys: keysRef, values: valuesRef, at, floats: reuse ? cache!.floats : floats, capacity, copied: 0 };
      this.appendOnly.set(id, cache);
    }
    const memory = this.floats();
    const [keysAt, valuesAt] = [cache.at / 4, cache.at / 4 + cache.floats];
    // Keys [G, H, hd, slots] → rows of `capacity`; values [G, H, slots, hd] → blocks of capacity × hd.
    for (let row = 0; row < blocks * hd; row++) {
      const [from, to] = [row * slots, keysAt + row * capacity];
      for (let j = cache.copied; j < visible; j++) memory[to + j] = keys[from + j]!;
    }
    for (let block = 0; block < blocks; block++) {
      const from = (block * slots + cache.copied) * hd;
      const run = values.subarray(from, (block * slots + visible) * hd);
      memory.set(run, valuesAt + (block * capacity + cache.copied) * hd);
    }
    cache.copied = visible;
    return [cache.at, cache.at + 4 * cache.floats];
  }

  private reserve(floats: number): number {
    if (floats > this.scratch.floats) this.scratch = { floats, at: this.allocate(4 * floats) };
    return this.scratch.at;
  }

  /** softmax(scale · q·K (+ the extra column)) · V for every row and head of `query` [B, H, hd], into `out`. */
  run(query: Float32Array, layer: AttentionLayer, heads: number, hd: number, scale: number, out: Float32Array): void {
    if (hd % CHANNEL_BLOCK !== 0) throw new Error(`head size ${hd} is not a multiple of ${CHANNEL_BLOCK}`);
    const { slots, fixedId, appendOnly, extra, mask } = layer;
    if (slots === 0) {
      // Nothing cached: the new slot alone takes all the weight (no slot and no new one: zeros, an empty sum).
      if (extra) out.set(extra.values.subarray(0, out.length));
      else out.fill(0);
      return;
    }
    const copied = fixedId === undefined && appendOnly === undefined;
    const padded = (floats: number) => padTo(floats + SCORE_BLOCK, 16);
    const perCall =
      (copied ? 2 * padded(layer.keys.length) : 0) +
      (extra ? 4 : 2) * padded(query.length) + // the query, the extra keys and values, the output
      (mask ? padded(mask.length) : 0);
    // Sized for the whole cache at once, so a drawing does not grow the memory (with helpers reading it) as it goes.
    const threadScratch = this.threadScratch(Math.max(slots, appendOnly?.capacity ?? 0));
    const scratch = { at: this.reserve(perCall + threadScratch) };
    const visibleSlots = Math.min(layer.visible ?? slots, slots);
    const [keysAt, valuesAt] =
      appendOnly === undefined
        ? [
            this.place(layer.keys, fixedId && `${fixedId}.keys`, scratch),
            this.place(layer.values, fixedId && `${fixedId}.values`, scratch),
          ]
        : this.placeAppendOnly(layer, visibleSlots, hd);
    const count = mask ? slots : visibleSlots;
    const placed = { keysAt, valuesAt, stride: appendOnly?.capacity ?? slots, count, slots };
    this.dispatch(query, placed, layer, heads, hd, scale, out, scratch);
  }

  /**
   * Attention over a cache this object keeps (`id`, laid out for `capacity` slots): the caller runs every position
   * from 0 in order with the step's own key and value (`extra`), which are appended after attending. Position 0
   * starts the cache over. What the decoder step uses when its session keeps its own cache (keepsOwnCache).
   */
  runOwnCache(
    query: Float32Array,
    cache: { readonly id: string; readonly capacity: number },
    position: number,
    extra: { readonly keys: Float32Array; readonly values: Float32Array },
    heads: number,
    hd: number,
    scale: number,
    out: Float32Array,
  ): void {
    if (hd % CHANNEL_BLOCK !== 0) throw new Error(`head size ${hd} is not a multiple of ${CHANNEL_BLOCK}`);
    const rows = query.length / (heads * hd);
    const blocks = rows * heads;
    const floats = padTo(blocks * hd * cache.capacity + SCORE_BLOCK, 16);
    let place = this.owned.get(cache.id);
    if (position === 0) {
      const reuse = place && place.floats >= floats && place.capacity === cache.capacity;
      const at = reuse ? place!.at : this.allocate(8 * floats);
      place = { at, floats: reuse ? place!.floats : floats, capacity: cache.capacity, rows, filled: 0 };
      this.owned.set(cache.id, place);
    }
    if (!place || place.filled !== position || place.rows !== rows)
      throw new Error(
        `our kernels' cache ${cache.id} holds ${place?.filled ?? 0} slots of ${place?.rows ?? 0} rows: a step at ` +
          `position ${position} of ${rows} rows cannot follow`,
      );
    if (position >= cache.capacity) throw new Error(`position ${position} is past the cache's ${cache.capacity} slots`);
    const [keysAt, valuesAt] = [place.at, place.at + 4 * place.floats];
    if (position === 0) out.set(extra.values.subarray(0, out.length));
    else {
      const placed = { keysAt, valuesAt, stride: cache.capacity, count: position, slots: position };
      const scratch = {
        at: this.reserve(4 * padTo(query.length + SCORE_BLOCK, 16) + this.threadScratch(cache.capacity)),
      };
      this.dispatch(query, placed, { rowsPerGroup: 1, extra }, heads, hd, scale, out, scratch);
    }
    // The step's slot, for the next: keys [rows, H, hd, capacity] (one float per row of slots), values
    // [rows, H, capacity, hd] (one run of hd).
    const memory = this.floats();
    for (let i = 0; i < blocks * hd; i++) memory[keysAt / 4 + i * cache.capacity + position] = extra.keys[i]!;
    for (let b = 0; b < blocks; b++)
      memory.set(extra.values.subarray(b * hd, (b + 1) * hd), valuesAt / 4 + (b * cache.capacity + position) * hd);
    place.filled = position + 1;
  }

  private threadScratch(slots: number): number {
    return this.gemm.threadCount * attentionScratchFloats(slots);
  }

  /** Places the query (and extra column, mask), runs the call on every thread, copies the result into `out`. */
  private dispatch(
    query: Float32Array,
    placed: { keysAt: number; valuesAt: number; stride: number; count: number; slots: number },
    layer: Pick<AttentionLayer, 'rowsPerGroup' | 'extra' | 'mask'>,
    heads: number,
    hd: number,
    scale: number,
    out: Float32Array,
    scratch: { at: number },
  ): void {
    const { extra, mask } = layer;
    const padded = (floats: number) => padTo(floats + SCORE_BLOCK, 16);
    const queryAt = this.place(query, undefined, scratch);
    const [extraKeysAt, extraValuesAt] = extra
      ? [this.place(extra.keys, undefined, scratch), this.place(extra.values, undefined, scratch)]
      : [0, 0];
    const maskAt = mask ? this.place(Float32Array.from(mask), undefined, scratch) : 0;
    const outAt = scratch.at;
    scratch.at += 4 * padded(query.length);
    const args = packAttentionArgs(
      {
        queryAt,
        ...placed,
        maskAt,
        extraKeysAt,
        extraValuesAt,
        outAt,
        scratchAt: scratch.at,
        rows: query.length / (heads * hd),
        heads,
        hd,
        rowsPerGroup: layer.rowsPerGroup,
      },
      scale,
    );
    this.gemm.runTask('attention', args);
    out.set(this.floats().subarray(outAt / 4, outAt / 4 + out.length));
  }
}
