/**
 * One layer's attention for every row and head of a decoder step on our WebAssembly kernels (attention-kernel.ts):
 * scores and the weighted sum of values in SIMD, the softmax in TypeScript. Keys [G, H, hd, slots] and values
 * [G, H, slots, hd] are copied into the kernel's memory once per call, except those already there from an earlier call
 * (`fixedId`: the cross-attention tensors, the same for a whole drawing).
 */
import { CHANNEL_BLOCK, SCORE_BLOCK, scoresFunction, weightedFunction } from './attention-kernel.ts';
import { padTo } from './int8-gemm-kernel.ts';
import { encodeModule } from './wasm-binary.ts';

export interface AttentionLayer {
  /** [G, H, hd, slots] */
  readonly keys: Float32Array;
  /** [G, H, slots, hd] */
  readonly values: Float32Array;
  readonly slots: number;
  /** The key/value group row `r` reads: its own (self-attention) or its prompt row's (cross-attention). */
  readonly groupOf: (row: number) => number;
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

type Kernel = (...args: number[]) => void;

export class Attention {
  private top = 64;
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

  private constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly scores: Kernel,
    private readonly weighted: Kernel,
  ) {}

  static async create(): Promise<Attention> {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
    const module = await WebAssembly.compile(
      encodeModule({ scores: scoresFunction(), weighted: weightedFunction() }, { shared: false }),
    );
    const { exports } = await WebAssembly.instantiate(module, { env: { memory } });
    return new Attention(memory, exports.scores as Kernel, exports.weighted as Kernel);
  }

  private allocate(bytes: number): number {
    const at = this.top;
    this.top += padTo(bytes, 64);
    const missing = this.top - this.memory.buffer.byteLength;
    if (missing > 0) this.memory.grow(Math.ceil(missing / 65536));
    return at;
  }

  /** Where `data` sits in the kernel's memory: under `fixedId` once, else in the per-call scratch from `scratch.at`. */
  private place(data: Float32Array, fixedId: string | undefined, scratch: { at: number }): number {
    // Keys are read up to SCORE_BLOCK − 1 floats past their last slot (scores the caller never reads).
    const floats = padTo(data.length + SCORE_BLOCK, 16);
    if (fixedId === undefined) {
      const at = scratch.at;
      new Float32Array(this.memory.buffer, at, data.length).set(data);
      scratch.at += 4 * floats;
      return at;
    }
    const slot = this.fixed.get(fixedId);
    if (slot?.data.deref() === data) return slot.at;
    const at = slot && slot.floats >= floats ? slot.at : this.allocate(4 * floats);
    new Float32Array(this.memory.buffer, at, data.length).set(data);
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
    const memory = new Float32Array(this.memory.buffer);
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
    const rows = query.length / (heads * hd);
    if (hd % CHANNEL_BLOCK !== 0) throw new Error(`head size ${hd} is not a multiple of ${CHANNEL_BLOCK}`);
    const { slots } = layer;
    if (slots === 0) {
      // Nothing cached: the new slot alone takes all the weight (no slot and no new one: zeros, an empty sum).
      if (layer.extra) out.set(layer.extra.values.subarray(0, out.length));
      else out.fill(0);
      return;
    }
    const { fixedId, appendOnly } = layer;
    const block = padTo(slots + SCORE_BLOCK, 16);
    const copied = fixedId === undefined && appendOnly === undefined;
    const perCall = copied ? 2 * padTo(layer.keys.length + SCORE_BLOCK, 16) : 0;
    const scratch = { at: this.reserve(perCall + padTo(query.length + SCORE_BLOCK, 16) + 2 * block + hd) };
    const visibleSlots = Math.min(layer.visible ?? slots, slots);
    const [keysAt, valuesAt] =
      appendOnly === undefined
        ? [
            this.place(layer.keys, fixedId && `${fixedId}.keys`, scratch),
            this.place(layer.values, fixedId && `${fixedId}.values`, scratch),
          ]
        : this.placeAppendOnly(layer, visibleSlots, hd);
    // Slots per key row (and per value block) where the kernels read them.
    const stride = appendOnly?.capacity ?? slots;
    const queryAt = this.place(query, undefined, scratch);
    const scoresAt = scratch.at;
    const probsAt = scoresAt + 4 * block;
    const outAt = probsAt + 4 * block;
    const count = layer.mask ? slots : visibleSlots;
    const view = () => new Float32Array(this.memory.buffer);
    for (let r = 0; r < rows; r++) {
      const group = layer.groupOf(r);
      for (let h = 0; h < heads; h++) {
        const at = (r * heads + h) * hd;
        const kv = (group * heads + h) * hd * stride;
        if (count > 0) this.scores(queryAt + 4 * at, keysAt + 4 * kv, scoresAt, stride, padTo(count, SCORE_BLOCK), hd);
        const memory = view();
        const scores = memory.subarray(scoresAt / 4, scoresAt / 4 + count);
        const probs = memory.subarray(probsAt / 4, probsAt / 4 + count);
        let extraScore = -Infinity;
        if (layer.extra) {
          let s = 0;
          for (let c = 0; c < hd; c++) s += query[at + c]! * layer.extra.keys[at + c]!;
          extraScore = s * scale;
        }
        const visible = (j: number): boolean =>
          layer.mask ? layer.mask[group * slots + j] === 1 : j < (layer.visible ?? slots);
        let max = extraScore;
        let any = layer.extra !== undefined;
        for (let j = 0; j < count; j++) {
          if (!visible(j)) continue;
          any = true;
          max = Math.max(max, scores[j]! * scale);
        }
        // With nothing visible every column weighs the same, as in the exported graphs (they add the float32 minimum).
        let total = 0;
        for (let j = 0; j < count; j++) {
          probs[j] = !any ? 1 : visible(j) ? Math.exp(scores[j]! * scale - max) : 0;
          total += probs[j]!;
        }
        const extraWeight = layer.extra ? Math.exp(extraScore - max) : 0;
        total += extraWeight;
        for (let j = 0; j < count; j++) probs[j] = probs[j]! / total;
        const result = out.subarray(at, at + hd);
        if (count > 0) {
          this.weighted(probsAt, valuesAt + 4 * kv, outAt, count, hd);
          result.set(view().subarray(outAt / 4, outAt / 4 + hd));
        } else result.fill(0);
        if (layer.extra) {
          const p = extraWeight / total;
          for (let c = 0; c < hd; c++) result[c] = result[c]! + p * layer.extra.values[at + c]!;
        }
      }
    }
  }
}
