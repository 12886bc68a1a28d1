/** Our own decoder step (src/kernels/decoder-step.ts) against ONNX Runtime's host-cache decoder on the same files. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DecoderStep } from '../src/kernels/decoder-step.ts';
import type { KeyValue } from '../src/kernels/decoder-step.ts';
import { Attention } from '../src/kernels/attention.ts';
import { softmaxFunction, weightedFunction, WEIGHTED_SLOTS } from '../src/kernels/attention-kernel.ts';
import { encodeModule } from '../src/kernels/wasm-binary.ts';
import { attendRow } from './helpers/attention-reference.ts';
import { Int8Gemm } from '../src/kernels/int8-gemm.ts';
import type { ModelManifest } from '../src/model/manifest.ts';
import { cacheNames, crossAttentionNames, DECODER_OUTPUTS, newSlotNames } from '../src/model/graph-io.ts';
import { decoderFeeds } from '../src/pipeline/own-decoder-session.ts';
import { readInitializers } from '../src/model/onnx-initializers.ts';
import { fillNormal } from '../tools/exporter/prng.ts';
import { spawnNodeGemmHelper } from '../tools/node/gemm-helper.ts';
import { tinyModel } from './helpers/fixtures.ts';
import { ort, relativeError } from './helpers/graphs.ts';

/** The tiny q8 export's decoder: its config, graph entry, external data and initializers. */
function tinyQ8Decoder() {
  const dir = tinyModel('q8');
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ModelManifest;
  const entry = manifest.graphs.decoder;
  const externalData = entry.externalData.map((path) => ({ path, data: readFileSync(join(dir, path)) }));
  const weights = readInitializers(readFileSync(join(dir, entry.file)), externalData);
  return { dir, c: manifest.dalleBart, entry, externalData, weights };
}

void test('one step on our kernels gives ONNX Runtime’s logits and new slots (q8 tiny, 2 images, masked text)', async () => {
  const { dir, c, entry, externalData, weights } = tinyQ8Decoder();
  const step = DecoderStep.fromInitializers(c, weights, await Int8Gemm.create());

  const [B, T, P, position] = [4, 6, 8, 5];
  const H = c.decoderHeads;
  const hd = c.dModel / H;
  const ids = [3, c.imageVocabSize, 7, c.imageVocabSize];
  const mask = [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0];
  const random = (n: number, seed: number) => fillNormal(new Float32Array(n), seed, 0, 1);
  const cross: KeyValue[] = crossAttentionNames(c).map((_, l) => ({
    key: random(2 * H * hd * T, 10 + l),
    value: random(2 * H * T * hd, 20 + l),
  }));
  const past: KeyValue[] = cacheNames(c, 'past').map((_, l) => ({
    key: random(B * H * hd * P, 30 + l),
    value: random(B * H * P * hd, 40 + l),
  }));
  const inputs = { ids, position, attentionMask: mask, cross, past, pastSlots: P };
  const ours = step.run(inputs);

  const session = await ort.InferenceSession.create(readFileSync(join(dir, entry.hostCacheFile!)), { externalData });
  const outputs = await session.run(decoderFeeds(ort, c, inputs));
  await session.release();
  // ONNX Runtime multiplies float activations by the dequantized weights; ours rounds them to 12 bits.
  const logitsError = relativeError(ours.logits, outputs[DECODER_OUTPUTS.logits]!.data as Float32Array);
  // Measured 0.05 % of the logits' scale; a step at the wrong position is off by ≈ 56 %.
  assert.ok(logitsError < 5e-3, `logits ${logitsError}`);
  newSlotNames(c).forEach((names, l) => {
    assert.ok(relativeError(ours.newSlots[l]!.key, outputs[names.key]!.data as Float32Array) < 1e-2, `key ${l}`);
    assert.ok(relativeError(ours.newSlots[l]!.value, outputs[names.value]!.data as Float32Array) < 1e-2, `value ${l}`);
  });
});

void test('a step that keeps its own cache gives, step by step, what the caller’s host cache gives, with or without its new slots', async () => {
  const { c, weights } = tinyQ8Decoder();
  const helpers = await Int8Gemm.create({ threads: 2, spawnHelper: spawnNodeGemmHelper });
  const [fed, owning] = [
    DecoderStep.fromInitializers(c, weights, await Int8Gemm.create()),
    DecoderStep.fromInitializers(c, weights, helpers),
  ];
  try {
    const [T, S] = [6, c.imageLength];
    const H = c.decoderHeads;
    const hd = c.dModel / H;
    const random = (n: number, seed: number) => fillNormal(new Float32Array(n), seed, 0, 1);
    const cross: KeyValue[] = crossAttentionNames(c).map((_, l) => ({
      key: random(2 * H * hd * T, 10 + l),
      value: random(2 * H * T * hd, 20 + l),
    }));
    const attentionMask = [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0];
    let returned: { slot: KeyValue; copy: Float32Array } | null = null;
    // Three drawings, each starting over at position 0, of 2, 1 and 3 images (the cache's place reused, then grown).
    for (const [drawing, B] of [
      [0, 4],
      [1, 2],
      [2, 6],
    ] as const) {
      const past: KeyValue[] = cacheNames(c, 'past').map(() => ({
        key: new Float32Array(B * H * hd * S),
        value: new Float32Array(B * H * S * hd),
      }));
      for (let position = 0; position < 5; position++) {
        const ids = Array.from({ length: B }, (_, i) => (7 * position + 3 * i + drawing) % (c.imageVocabSize + 1));
        const want = fed.run({ ids, position, attentionMask, cross, past, pastSlots: S });
        // The second drawing asks for no new slots (as a drawing on the step's own cache does): the same logits.
        const newSlots = drawing !== 1;
        const got = owning.run({ ids, position, attentionMask, cross, newSlots });
        assert.deepEqual(got.logits, want.logits, `drawing ${drawing}, position ${position}`);
        assert.equal(got.newSlots.length, newSlots ? c.decoderLayers : 0);
        // Slots returned are the caller's: a later step never writes into them.
        if (returned) assert.deepEqual(returned.slot.key, returned.copy, 'a returned slot was written by a later step');
        const slot = got.newSlots[0];
        returned = slot ? { slot, copy: Float32Array.from(slot.key) } : null;
        // The engine's host cache: the new slot written at the position (keys [B, H, hd, S], values [B, H, S, hd]).
        want.newSlots.forEach(({ key, value }, l) => {
          for (let i = 0; i < B * H * hd; i++) past[l]!.key[i * S + position] = key[i]!;
          for (let b = 0; b < B * H; b++)
            past[l]!.value.set(value.subarray(b * hd, (b + 1) * hd), (b * S + position) * hd);
        });
      }
    }
    // Positions must follow one another.
    assert.throws(() => owning.run({ ids: [1, 2, 3, 4], position: 9, attentionMask, cross }), /cannot follow/);
  } finally {
    await helpers.release();
  }
});

void test('the softmax kernel: float32 precision over the softmax’s range, a mask, the values’ scales', async () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const { instance } = await WebAssembly.instantiate(encodeModule({ softmax: softmaxFunction() }, { shared: false }), {
    env: { memory },
  });
  const softmax = instance.exports.softmax as (...args: number[]) => void;
  const floats = new Float32Array(memory.buffer);
  const [x, out, params, weights, mask] = [0, 2048, 4096, 6144, 8192];
  const count = 2001;
  const run = (scale: number, scores: number[], masked: number[] | null): Float32Array => {
    floats.set(scores, x);
    floats.fill(-Infinity, x + count, x + 2004);
    floats.set(
      Array.from({ length: 2004 }, (_, j) => 1 + (j % 3)),
      weights,
    );
    // Past count the mask is 1: the padding lanes stay −∞.
    if (masked) floats.set([...masked.slice(0, count), 1, 1, 1], mask);
    floats[params] = scale;
    softmax(4 * x, 4 * out, count, 4 * params, 4 * weights, masked ? 4 * mask : 0);
    return floats.slice(out, out + count);
  };
  // Scores 2 · x over x in [−50, 1.5]: exponents from −103 to 0 after the maximum.
  const scores = Array.from({ length: count }, (_, j) => -50 + j * (51.5 / (count - 1)));
  const want = scores.map((s) => Math.exp(Math.fround(Math.fround(s * 2) - 3)));
  const total = want.reduce((sum, w) => sum + w, 0);
  const got = run(2, scores, null);
  for (let j = 0; j < count; j++) {
    const expected = (want[j]! / total) * (1 + (j % 3));
    if (want[j]! < 2 ** -120) assert.ok(got[j]! >= 0 && got[j]! <= 2 ** -120, `weight ${j}: ${got[j]}`);
    else assert.ok(Math.abs(got[j]! / expected - 1) < 1e-6, `weight ${j}: ${got[j]}, want ${expected}`);
  }
  // Hidden slots weigh nothing; with every slot hidden all weigh alike (the graphs' float32 minimum).
  const flat = Array.from({ length: count }, (_, j) => (j % 7) / 7);
  const someHidden = run(
    1,
    flat,
    Array.from({ length: 2004 }, (_, j) => (j % 2 === 0 ? 1 : 0)),
  );
  const visible = flat.filter((_, j) => j % 2 === 0).reduce((sum, s) => sum + Math.exp(s), 0);
  for (const j of [0, 1, 2, 1000, 2000]) {
    const expected = j % 2 === 0 ? (Math.exp(flat[j]!) / visible) * (1 + (j % 3)) : 0;
    assert.ok(Math.abs(someHidden[j]! - expected) < 1e-6 * (expected || 1), `masked ${j}: ${someHidden[j]}`);
  }
  // The mask applies after the scale: with a tiny one (a query of zeros) hidden slots still weigh nothing.
  const tiny = run(
    1e-35,
    flat,
    Array.from({ length: 2004 }, (_, j) => (j % 2 === 0 ? 1 : 0)),
  );
  const evenWeight = 1 / Math.ceil(count / 2);
  for (const j of [0, 1, 2, 1001, 2000])
    assert.ok(
      Math.abs(tiny[j]! - (j % 2 === 0 ? evenWeight * (1 + (j % 3)) : 0)) < 1e-9,
      `tiny scale ${j}: ${tiny[j]}`,
    );
  const allHidden = run(1, flat, Array<number>(2004).fill(0));
  for (const j of [0, 1, 2, 2000]) assert.ok(Math.abs(allHidden[j]! / ((1 + (j % 3)) / count) - 1) < 1e-5);
});

void test('the weighted kernel: p·V exactly as float32 adds each slot in order, for every head size and chunk edge', async () => {
  const memory = new WebAssembly.Memory({ initial: 2 });
  const { instance } = await WebAssembly.instantiate(
    encodeModule({ weighted: weightedFunction() }, { shared: false }),
    { env: { memory } },
  );
  const weighted = instance.exports.weighted as (...args: number[]) => void;
  const [pAt, vAt, outAt] = [0, 1024, 65536];
  const f = Math.fround;
  for (const hd of [16, 32, 48, 64]) {
    for (const count of [0, 1, WEIGHTED_SLOTS - 1, WEIGHTED_SLOTS, WEIGHTED_SLOTS + 1, 3 * WEIGHTED_SLOTS + 5]) {
      const p = fillNormal(new Float32Array(count), hd + count, 0, 1e-3);
      const v = Int16Array.from({ length: count * hd }, (_, i) => ((i * 7919 + hd) % 65535) - 32767);
      // Probabilities past `count` are NaN, so a slot read past it shows; so do writes either side of `out`.
      new Float32Array(memory.buffer, pAt, count + 4 * WEIGHTED_SLOTS).fill(NaN).set(p);
      new Int16Array(memory.buffer, vAt, count * hd).set(v);
      const around = new Float32Array(memory.buffer, outAt - 64, hd + 32).fill(NaN);
      around.fill(7, 0, 16);
      around.fill(7, 16 + hd);
      weighted(pAt, vAt, outAt, count, hd);
      assert.ok(
        around.subarray(0, 16).every((x) => x === 7) && around.subarray(16 + hd).every((x) => x === 7),
        `hd ${hd}, ${count} slots: written outside out`,
      );
      const want = new Float32Array(hd);
      for (let c = 0; c < hd; c++) {
        let sum = 0;
        for (let j = 0; j < count; j++) sum = f(sum + f(p[j]! * v[j * hd + c]!));
        want[c] = sum;
      }
      assert.deepEqual(new Float32Array(memory.buffer, outAt, hd), want, `hd ${hd}, ${count} slots`);
    }
  }
});

void test('the reference attention: only the new slot visible; no text visible weighs every column alike, as in the graphs', () => {
  const q = Float32Array.from([1, 2]);
  const keys = Float32Array.from([5, -5, 1, 3]); // [hd = 2, slots = 2]
  const values = Float32Array.from([1, 2, 3, 4]); // [slots = 2, hd = 2]
  const out = new Float32Array(2);
  const extra = { key: Float32Array.from([0, 1]), value: Float32Array.from([9, 8]) };
  attendRow(q, 1, { keys, values, base: 0, slots: 2, visible: 0 }, extra, out);
  assert.deepEqual(out, Float32Array.from([9, 8]));
  attendRow(q, 1, { keys, values, base: 0, slots: 2, mask: [0, 0], maskBase: 0 }, null, out);
  assert.deepEqual(out, Float32Array.from([2, 3]));
  attendRow(q, 1, { keys, values, base: 0, slots: 2, mask: [0, 1], maskBase: 0 }, null, out);
  assert.deepEqual(out, Float32Array.from([3, 4]));
});

/**
 * The kernels attend over a cache of integers (13-bit keys and queries, 15-bit values, a scale per slot and head):
 * measured 2.5e-4 of the largest output here, against 1e-7 for the float32 kernels they replaced.
 */
const ROUNDED_CACHE_ERROR = 1e-3;

function checkAttention(attention: Attention, threads: number): void {
  const [heads, hd, rows] = [3, 32, 4];
  const random = (n: number, seed: number) => fillNormal(new Float32Array(n), seed, 0, 1);
  const query = random(rows * heads * hd, 1);
  const extra = { keys: random(rows * heads * hd, 2), values: random(rows * heads * hd, 3) };
  for (const slots of [5, 37]) {
    const keys = random(rows * heads * hd * slots, 4);
    const values = random(rows * heads * slots * hd, 5);
    for (const visible of [0, 1, slots - 2]) {
      const out = new Float32Array(rows * heads * hd);
      attention.run(query, { keys, values, slots, rowsPerGroup: 1, visible, extra }, heads, hd, 0.2, out);
      for (let r = 0; r < rows; r++) {
        for (let h = 0; h < heads; h++) {
          const at = (r * heads + h) * hd;
          const want = new Float32Array(hd);
          const newSlot = { key: extra.keys.subarray(at, at + hd), value: extra.values.subarray(at, at + hd) };
          const base = (r * heads + h) * hd * slots;
          attendRow(query.subarray(at, at + hd), 0.2, { keys, values, base, slots, visible }, newSlot, want);
          assert.ok(
            relativeError(out.subarray(at, at + hd), want) < ROUNDED_CACHE_ERROR,
            `${threads} threads: self ${slots} ${visible} ${r} ${h}`,
          );
        }
      }
    }
    // Cross: two groups of two rows, the second group's text partly hidden (and once all hidden).
    for (const hidden of [2, slots]) {
      const groupKeys = keys.subarray(0, 2 * heads * hd * slots);
      const groupValues = values.subarray(0, 2 * heads * slots * hd);
      const mask = Array.from({ length: 2 * slots }, (_, j) => (j >= slots && j - slots < hidden ? 0 : 1));
      const out = new Float32Array(rows * heads * hd);
      const layer = { keys: groupKeys, values: groupValues, slots, rowsPerGroup: 2, mask };
      attention.run(query, { ...layer, fixedId: 'cross' }, heads, hd, 0.2, out);
      for (let r = 0; r < rows; r++) {
        for (let h = 0; h < heads; h++) {
          const at = (r * heads + h) * hd;
          const g = Math.floor(r / 2);
          const want = new Float32Array(hd);
          const base = (g * heads + h) * hd * slots;
          const source = { keys: groupKeys, values: groupValues, base, slots, mask, maskBase: g * slots };
          attendRow(query.subarray(at, at + hd), 0.2, source, null, want);
          assert.ok(
            relativeError(out.subarray(at, at + hd), want) < ROUNDED_CACHE_ERROR,
            `${threads} threads: cross ${slots} ${hidden} ${r} ${h}`,
          );
        }
      }
    }
  }
}

void test('the attention kernels give the reference attention: self with the new slot, cross with a mask and groups', async () => {
  checkAttention(new Attention(await Int8Gemm.create()), 1);
  // Shared among threads by (row, head) pairs: 4 rows × 3 heads over 3 threads.
  const gemm = await Int8Gemm.create({ threads: 3, spawnHelper: spawnNodeGemmHelper });
  try {
    checkAttention(new Attention(gemm), 3);
  } finally {
    await gemm.release();
  }
});

void test('an append-only cache copies only new slots, and starts over for new arrays or an earlier position', async () => {
  const attention = new Attention(await Int8Gemm.create());
  const [heads, hd, rows, slots] = [2, 16, 2, 8];
  const random = (n: number, seed: number) => fillNormal(new Float32Array(n), seed, 0, 1);
  const query = random(rows * heads * hd, 1);
  const full = { keys: random(rows * heads * hd * slots, 2), values: random(rows * heads * slots * hd, 3) };
  const extra = { keys: random(rows * heads * hd, 4), values: random(rows * heads * hd, 5) };
  const attend = (keys: Float32Array, values: Float32Array, visible: number, id?: string) => {
    const out = new Float32Array(rows * heads * hd);
    const layer = { keys, values, slots, rowsPerGroup: 1, visible, extra };
    const appendOnly = { id: id ?? '', capacity: 11 };
    attention.run(query, id === undefined ? layer : { ...layer, appendOnly }, heads, hd, 0.3, out);
    return out;
  };
  // The cache filled slot by slot, as the engine does: slot p is written after the step at position p.
  const keys = new Float32Array(full.keys.length);
  const values = new Float32Array(full.values.length);
  for (let position = 0; position < slots; position++) {
    assert.deepEqual(attend(keys, values, position, 'self'), attend(keys, values, position));
    for (let row = 0; row < rows * heads * hd; row++) keys[row * slots + position] = full.keys[row * slots + position]!;
    for (let b = 0; b < rows * heads; b++) {
      const at = (b * slots + position) * hd;
      values.set(full.values.subarray(at, at + hd), at);
    }
  }
  // A mask would attend to slots an append-only copy never takes.
  const masked = { keys, values, slots, rowsPerGroup: 1, mask: Array<number>(rows * slots).fill(1) };
  const appendOnly = { id: 'masked', capacity: 11 };
  const maskedOut = new Float32Array(query.length);
  assert.throws(() => attention.run(query, { ...masked, appendOnly }, heads, hd, 0.3, maskedOut), /takes no mask/);
  // A new drawing: other arrays, or the same ones from position 0 again.
  const fresh = { keys: random(full.keys.length, 6), values: random(full.values.length, 7) };
  assert.deepEqual(attend(fresh.keys, fresh.values, 5, 'self'), attend(fresh.keys, fresh.values, 5));
  keys.set(fresh.keys);
  values.set(fresh.values);
  assert.deepEqual(attend(keys, values, 3, 'self'), attend(keys, values, 3));
});
