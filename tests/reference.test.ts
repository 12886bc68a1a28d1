/** Sanity checks of the plain-TypeScript reference forwards themselves (tests/reference/*). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DalleBartConfig } from '../src/model/config.ts';
import { vqganGridSize } from '../src/model/config.ts';
import { dalleBartLayout, vqganLayout } from '../tools/exporter/layout.ts';
import { erf, erfc, gelu, referenceDecoder, referenceEncoder } from './reference/dallebart.ts';
import { randomParams } from './reference/memory-params.ts';
import { referenceVqgan } from './reference/vqgan.ts';
import { smallVqganConfig } from './helpers/graphs.ts';

const TINY: DalleBartConfig = {
  dModel: 32,
  encoderLayers: 2,
  decoderLayers: 2,
  encoderHeads: 2,
  decoderHeads: 2,
  encoderFfnDim: 48,
  decoderFfnDim: 48,
  encoderVocabSize: 100,
  imageVocabSize: 64,
  maxTextLength: 8,
  imageLength: 16,
  decoderStartTokenId: 64,
};

const MICRO_VQGAN = smallVqganConfig(32, 0);

const params = randomParams(dalleBartLayout(TINY), 1234);
const d = TINY.dModel;
const T = TINY.maxTextLength;
const VOCAB = TINY.imageVocabSize + 1;

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return max;
}

void test('erf, erfc and GELU match high-precision values', () => {
  assert.ok(Math.abs(gelu(1) - 0.8413447460685429) < 1e-12);
  assert.ok(Math.abs(erf(1) - 0.8427007929497149) < 1e-15);
  assert.ok(Math.abs(erf(-0.5) + 0.5204998778130465) < 1e-15);
  assert.ok(Math.abs(erfc(3) / 2.2090496998585438e-5 - 1) < 1e-13);
  assert.ok(Math.abs(erfc(10) / 2.088487583762545e-45 - 1) < 1e-13);
  assert.equal(gelu(0), 0);
});

void test('encoder: padded tokens do not affect unmasked positions; output is final_ln-normalised', () => {
  const mask = [[1, 1, 1, 1, 1, 0, 0, 0]];
  const a = referenceEncoder(params, TINY, [[0, 5, 17, 42, 2, 1, 1, 1]], mask);
  const b = referenceEncoder(params, TINY, [[0, 5, 17, 42, 2, 1, 77, 1]], mask);
  assert.equal(a.length, T * d);
  assert.equal(maxAbsDiff(a.subarray(0, 5 * d), b.subarray(0, 5 * d)), 0);
  // The changed token's own row does change, so the comparison above is not vacuous.
  assert.ok(maxAbsDiff(a.subarray(6 * d, 7 * d), b.subarray(6 * d, 7 * d)) > 1e-3);
  // final_ln is bias-only: every row minus the bias has zero mean.
  const bias = params.read('model/encoder/final_ln/bias');
  for (let t = 0; t < T; t++) {
    let mean = 0;
    for (let c = 0; c < d; c++) mean += (a[t * d + c] ?? 0) - (bias[c] ?? 0);
    assert.ok(Math.abs(mean / d) < 1e-6);
  }
});

void test('encoder and decoder treat batch rows independently', () => {
  const ids = [
    [0, 5, 17, 42, 2, 1, 1, 1],
    [0, 9, 2, 1, 1, 1, 1, 1],
  ];
  const mask = ids.map((row) => row.map((id) => (id === 1 ? 0 : 1)));
  const both = referenceEncoder(params, TINY, ids, mask);
  const second = referenceEncoder(params, TINY, [ids[1] ?? []], [mask[1] ?? []]);
  assert.ok(maxAbsDiff(both.subarray(T * d), second) < 1e-6);

  const tokens = [
    [64, 3, 9],
    [64, 40, 1],
  ];
  const logits = referenceDecoder(params, TINY, both, mask, tokens);
  const alone = referenceDecoder(params, TINY, second, [mask[1] ?? []], [tokens[1] ?? []]);
  assert.equal(logits.length, 2 * 3 * VOCAB);
  assert.ok(maxAbsDiff(logits.subarray(3 * VOCAB), alone) < 1e-6);
});

void test('decoder is causal: logits at i ignore tokens after i', () => {
  const ids = [[0, 5, 17, 42, 2, 1, 1, 1]];
  const mask = [[1, 1, 1, 1, 1, 0, 0, 0]];
  const enc = referenceEncoder(params, TINY, ids, mask);
  const a = referenceDecoder(params, TINY, enc, mask, [[64, 3, 9, 12, 50, 7]]);
  const b = referenceDecoder(params, TINY, enc, mask, [[64, 3, 9, 12, 8, 30]]);
  assert.equal(a.length, 6 * VOCAB);
  assert.equal(maxAbsDiff(a.subarray(0, 4 * VOCAB), b.subarray(0, 4 * VOCAB)), 0);
  assert.ok(maxAbsDiff(a.subarray(4 * VOCAB, 5 * VOCAB), b.subarray(4 * VOCAB, 5 * VOCAB)) > 1e-3);
  assert.ok(a.every(Number.isFinite));
});

void test('VQGAN reference produces [N, 3, R, R] finite images', () => {
  const vqParams = randomParams(vqganLayout(MICRO_VQGAN), 99);
  const grid = vqganGridSize(MICRO_VQGAN);
  assert.equal(grid, 8);
  const codes = [0, 1].map((n) => Array.from({ length: grid * grid }, (_, j) => (j * 7 + n * 13) % MICRO_VQGAN.nEmbed));
  const R = MICRO_VQGAN.resolution;
  const images = referenceVqgan(vqParams, MICRO_VQGAN, codes);
  assert.equal(images.length, 2 * MICRO_VQGAN.outCh * R * R);
  assert.ok(images.every(Number.isFinite));
  // Different codes give different images; the same codes decode identically.
  const size = MICRO_VQGAN.outCh * R * R;
  assert.ok(maxAbsDiff(images.subarray(0, size), images.subarray(size)) > 1e-3);
  const again = referenceVqgan(vqParams, MICRO_VQGAN, [codes[1] ?? []]);
  assert.equal(maxAbsDiff(images.subarray(size), again), 0);
});
