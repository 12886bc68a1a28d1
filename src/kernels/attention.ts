/**
 * One layer's attention for every row and head of a decoder step on our WebAssembly kernels (attention-kernel.ts), in
 * the int8 GEMM's memory and shared among its threads by (row, head) pairs (attention-share.ts). Keys and values live
 * there as 16-bit integers with a scale per slot of each head (a cache place): a late 9-image step reads the cache
 * once per layer, so its bytes, not the arithmetic, set the time (docs/performance.md#a-16-bit-cache). Callers hand
 * float32 tensors ([G, H, hd, slots] keys, [G, H, slots, hd] values), rounded into a place once per call, except
 * where they are already there from an earlier call (`fixedId`: the cross-attention tensors, the same for a whole
 * drawing; `appendOnly`: a caller's self-attention cache, a slot per step); `runOwnCache` keeps the self-attention
 * cache itself, appending each step's slot.
 */
import { CHANNEL_BLOCK, SCORE_BLOCK } from './attention-kernel.ts';
import {
  attentionScratchFloats,
  KEY_LEVELS,
  MAX_HEAD_SIZE,
  packAttentionArgs,
  VALUE_LEVELS,
} from './attention-share.ts';
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
  /** This step's key and value per row, [B, H, hd]: one more slot, always visible (self-attention: rowsPerGroup 1). */
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

/** A cache in the kernels' memory: keys and values int16 [blocks, stride, hd], scales float32 [blocks, stride]. */
interface CachePlace {
  readonly keysAt: number;
  readonly valuesAt: number;
  readonly keyScalesAt: number;
  readonly valueScalesAt: number;
  readonly blocks: number;
  /** Slots per block, a multiple of SCORE_BLOCK (the scores kernel reads whole blocks of slots). */
  readonly stride: number;
}

/** The place for `slots` slots from byte `at`, and the bytes it spans. */
function layoutPlace(at: number, blocks: number, slots: number, hd: number): { place: CachePlace; bytes: number } {
  const stride = padTo(slots, SCORE_BLOCK);
  const [ints, scales] = [padTo(2 * blocks * stride * hd, 64), padTo(4 * blocks * stride, 64)];
  const valuesAt = at + ints;
  const keyScalesAt = valuesAt + ints;
  const place = { keysAt: at, valuesAt, keyScalesAt, valueScalesAt: keyScalesAt + scales, blocks, stride };
  return { place, bytes: 2 * ints + 2 * scales };
}

/** Keys [G, H, hd, slots] and values [G, H, slots, hd] in float32, as the graphs and the host cache hold them. */
interface FloatCache {
  readonly keys: Float32Array;
  readonly values: Float32Array;
  readonly slots: number;
}

/** What one call attends to in the place: slots [0, count), `mask` [G, maskSlots] hiding some of the first ones. */
interface AttentionCall {
  readonly count: number;
  readonly rowsPerGroup: number;
  readonly mask?: ArrayLike<number> | undefined;
  readonly maskSlots: number;
}

/** Whether the kernels take heads of `hd` channels (DALL·E Mini's and Mega's are 64). */
export function supportsHeadSize(hd: number): boolean {
  return Number.isInteger(hd) && hd > 0 && hd % CHANNEL_BLOCK === 0 && hd <= MAX_HEAD_SIZE;
}

function checkHeadSize(hd: number): void {
  if (!supportsHeadSize(hd))
    throw new Error(`head size ${hd} is not a multiple of ${CHANNEL_BLOCK} up to ${MAX_HEAD_SIZE}`);
}

export class Attention {
  // The arrays a place was last filled from, by identity: weakly, so a finished drawing's cache can be collected.
  private readonly fixed = new Map<
    string,
    { keys: WeakRef<Float32Array>; values: WeakRef<Float32Array>; at: number; bytes: number; place: CachePlace }
  >();
  private readonly appendOnly = new Map<
    string,
    {
      keys: WeakRef<Float32Array>;
      values: WeakRef<Float32Array>;
      at: number;
      bytes: number;
      place: CachePlace;
      copied: number;
    }
  >();
  /** Caches this object keeps (runOwnCache). */
  private readonly owned = new Map<
    string,
    { at: number; bytes: number; place: CachePlace; rows: number; filled: number }
  >();
  private readonly regions = {
    scratch: { bytes: 0, at: 0 },
    copied: { bytes: 0, at: 0 },
    staging: { bytes: 0, at: 0 },
  };

  /** Attention in `gemm`'s memory, on its threads. */
  constructor(private readonly gemm: Int8Gemm) {}

  /** A region of at least `bytes` reused by every call (grown, never shrunk). */
  private region(name: keyof Attention['regions'], bytes: number): number {
    const region = this.regions[name];
    if (bytes > region.bytes) Object.assign(region, { bytes, at: this.gemm.allocate(bytes) });
    return region.at;
  }

  /** A place for `slots` slots at `old`'s memory when it is large enough, else newly allocated. */
  private newPlace(old: { at: number; bytes: number } | undefined, blocks: number, slots: number, hd: number) {
    const { bytes } = layoutPlace(0, blocks, slots, hd);
    const reuse = old !== undefined && old.bytes >= bytes;
    const at = reuse ? old.at : this.gemm.allocate(bytes);
    return { at, bytes: reuse ? old.bytes : bytes, place: layoutPlace(at, blocks, slots, hd).place };
  }

  /**
   * Rounds slot `slot` of every block into the place: `keys` and `values` [blocks, hd] float32, each vector to integers
   * by its own absolute maximum on the `quantize` kernel (so every path into a place rounds alike).
   */
  private writeSlot(place: CachePlace, slot: number, hd: number, keys: Float32Array, values: Float32Array): void {
    const { blocks, stride } = place;
    const at = this.region('staging', 8 * blocks * hd);
    const floats = new Float32Array(this.gemm.memory.buffer);
    floats.set(keys.subarray(0, blocks * hd), at / 4);
    floats.set(values.subarray(0, blocks * hd), at / 4 + blocks * hd);
    const [rowInts, rowScales] = [2 * slot * hd, 4 * slot];
    const ints = (at: number) => ({ at: at + rowInts, stride: stride * hd });
    const scales = (at: number) => ({ at: at + rowScales, stride });
    this.gemm.roundRows(at, blocks, hd, KEY_LEVELS, ints(place.keysAt), scales(place.keyScalesAt));
    const valuesFrom = at + 4 * blocks * hd;
    this.gemm.roundRows(valuesFrom, blocks, hd, VALUE_LEVELS, ints(place.valuesAt), scales(place.valueScalesAt));
  }

  /** Slots [from, to) of a float32 cache into the place, a slot of every block at a time. */
  private writeSlots(place: CachePlace, source: FloatCache, from: number, to: number, hd: number): void {
    const { blocks } = place;
    const { keys, values, slots } = source;
    const [k, v] = [new Float32Array(blocks * hd), new Float32Array(blocks * hd)];
    for (let s = from; s < to; s++) {
      for (let i = 0; i < blocks * hd; i++) k[i] = keys[i * slots + s]!;
      for (let b = 0; b < blocks; b++) v.set(values.subarray((b * slots + s) * hd, (b * slots + s + 1) * hd), b * hd);
      this.writeSlot(place, s, hd, k, v);
    }
  }

  /** The place of a cache that does not change between calls under `id` (filled once for each pair of arrays). */
  private placeFixed(layer: AttentionLayer, id: string, blocks: number, hd: number): CachePlace {
    const old = this.fixed.get(id);
    if (old?.keys.deref() === layer.keys && old.values.deref() === layer.values && old.place.blocks === blocks)
      return old.place;
    const { at, bytes, place } = this.newPlace(old, blocks, layer.slots, hd);
    this.writeSlots(place, layer, 0, layer.slots, hd);
    const [keys, values] = [new WeakRef(layer.keys), new WeakRef(layer.values)];
    this.fixed.set(id, { keys, values, at, bytes, place });
    return place;
  }

  /**
   * The place of an append-only cache, laid out for its `capacity` slots, with the slots new since the last call
   * rounded in.
   */
  private placeAppendOnly(layer: AttentionLayer, visible: number, blocks: number, hd: number): CachePlace {
    const { keys, values, slots } = layer;
    const { id, capacity } = layer.appendOnly!;
    if (capacity < slots) throw new Error(`an append-only cache of ${capacity} slots cannot take ${slots}`);
    let cache = this.appendOnly.get(id);
    const same = cache?.keys.deref() === keys && cache.values.deref() === values;
    const tooNarrow = cache !== undefined && cache.place.stride < padTo(capacity, SCORE_BLOCK);
    if (!cache || !same || visible < cache.copied || cache.place.blocks !== blocks || tooNarrow) {
      const fresh = this.newPlace(cache, blocks, capacity, hd);
      cache = { keys: new WeakRef(keys), values: new WeakRef(values), ...fresh, copied: 0 };
      this.appendOnly.set(id, cache);
    }
    this.writeSlots(cache.place, layer, cache.copied, visible, hd);
    cache.copied = visible;
    return cache.place;
  }

  /** softmax(scale · q·K (+ the extra slot)) · V for every row and head of `query` [B, H, hd], into `out`. */
  run(query: Float32Array, layer: AttentionLayer, heads: number, hd: number, scale: number, out: Float32Array): void {
    checkHeadSize(hd);
    const { slots, fixedId, appendOnly, extra, mask, rowsPerGroup } = layer;
    const rows = query.length / (heads * hd);
    const blocks = (rows / rowsPerGroup) * heads;
    if (extra && rowsPerGroup !== 1) throw new Error('an extra slot is one per row: rowsPerGroup must be 1');
    const visibleSlots = Math.min(layer.visible ?? slots, slots);
    // With a mask every slot is attended to (the mask hides some); the step's own slot comes after them.
    const attended = mask ? slots : visibleSlots;
    const count = attended + (extra ? 1 : 0);
    if (count === 0) {
      out.fill(0);
      return;
    }
    let place: CachePlace;
    if (fixedId !== undefined) {
      if (extra) throw new Error('a fixed cache takes no extra slot');
      place = this.placeFixed(layer, fixedId, blocks, hd);
    } else if (appendOnly !== undefined) {
      // Append-only copies the slots before `visible`; a mask would attend to all of them.
      if (mask) throw new Error('an append-only cache takes no mask');
      if (count > appendOnly.capacity) throw new Error(`${count} slots are past the cache's ${appendOnly.capacity}`);
      place = this.placeAppendOnly(layer, visibleSlots, blocks, hd);
    } else {
      place = layoutPlace(this.region('copied', layoutPlace(0, blocks, count, hd).bytes), blocks, count, hd).place;
      this.writeSlots(place, layer, 0, attended, hd);
    }
    // The step's own slot after the others (an append-only cache overwrites it with the same values next step).
    if (extra) this.writeSlot(place, attended, hd, extra.keys, extra.values);
    const call = { count, rowsPerGroup, mask, maskSlots: mask ? slots : 0 };
    this.dispatch(query, place, call, heads, hd, scale, out);
  }

  /**
   * Attention over a cache this object keeps (`id`, laid out for `capacity` slots): the caller runs every position
   * from 0 in order with the step's own key and value (`extra`), which are appended first and attended to with the
   * rest. Position 0 starts the cache over. What the decoder step uses when its session keeps its own cache
   * (keepsOwnCache).
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
    checkHeadSize(hd);
    const rows = query.length / (heads * hd);
    let owned = this.owned.get(cache.id);
    if (position === 0) {
      owned = { ...this.newPlace(owned, rows * heads, cache.capacity, hd), rows, filled: 0 };
      this.owned.set(cache.id, owned);
    }
    if (!owned || owned.filled !== position || owned.rows !== rows)
      throw new Error(
        `our kernels' cache ${cache.id} holds ${owned?.filled ?? 0} slots of ${owned?.rows ?? 0} rows: a step at ` +
          `position ${position} of ${rows} rows cannot follow`,
      );
    if (position >= cache.capacity) throw new Error(`position ${position} is past the cache's ${cache.capacity} slots`);
    this.writeSlot(owned.place, position, hd, extra.keys, extra.values);
    owned.filled = position + 1;
    this.dispatch(query, owned.place, { count: position + 1, rowsPerGroup: 1, maskSlots: 0 }, heads, hd, scale, out);
  }

  /** Places the query (and mask), runs the call on every thread, copies the result into `out`. */
  private dispatch(
    query: Float32Array,
    place: CachePlace,
    call: AttentionCall,
    heads: number,
    hd: number,
    scale: number,
    out: Float32Array,
  ): void {
    const pairs = query.length / hd;
    const floats = (n: number) => padTo(4 * n, 64);
    // The mask widened to [G, count rounded up]: the slots past maskSlots (the step's own) visible.
    const maskStride = padTo(call.count, SCORE_BLOCK);
    const groups = pairs / heads / call.rowsPerGroup;
    const maskFloats = call.mask ? groups * maskStride : 0;
    // Thread scratch for the place's whole stride, so a drawing does not grow the memory (with helpers reading it).
    const threadBytes = 4 * this.gemm.threadCount * attentionScratchFloats(place.stride);
    const bytes =
      2 * floats(query.length) + floats(query.length / 2) + floats(pairs) + floats(maskFloats) + threadBytes;
    const queryAt = this.region('scratch', bytes);
    const outAt = queryAt + floats(query.length);
    const queryIntsAt = outAt + floats(query.length);
    const queryScalesAt = queryIntsAt + floats(query.length / 2);
    const maskAt = queryScalesAt + floats(pairs);
    const scratchAt = maskAt + floats(maskFloats);
    const memory = new Float32Array(this.gemm.memory.buffer);
    memory.set(query, queryAt / 4);
    if (call.mask) {
      const { mask, maskSlots } = call;
      for (let g = 0; g < groups; g++) {
        const row = memory.subarray(maskAt / 4 + g * maskStride, maskAt / 4 + (g + 1) * maskStride).fill(1);
        for (let j = 0; j < maskSlots; j++) row[j] = mask[g * maskSlots + j]!;
      }
    }
    const args = packAttentionArgs(
      {
        queryAt,
        queryIntsAt,
        queryScalesAt,
        keysAt: place.keysAt,
        valuesAt: place.valuesAt,
        keyScalesAt: place.keyScalesAt,
        valueScalesAt: place.valueScalesAt,
        stride: place.stride,
        count: call.count,
        maskAt: call.mask ? maskAt : 0,
        outAt,
        scratchAt,
        rows: pairs / heads,
        heads,
        hd,
        rowsPerGroup: call.rowsPerGroup,
      },
      scale,
    );
    this.gemm.runTask('attention', args);
    out.set(new Float32Array(this.gemm.memory.buffer, outAt, out.length));
  }
}
