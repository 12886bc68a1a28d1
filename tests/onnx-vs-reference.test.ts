/**
 * The exported ONNX graphs, run by onnxruntime-web in Node, against the plain-TypeScript reference:
 * fp32 outputs within 1e-4 of the output's scale.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DalleBartConfig } from '../src/model/config.ts';
import {
  DECODER_INPUTS,
  DECODER_OUTPUTS,
  ENCODER_INPUTS,
  ENCODER_OUTPUTS,
  VQGAN_INPUTS,
  VQGAN_OUTPUTS,
  cacheFeedback,
  cacheNames,
  crossAttentionNames,
} from '../src/model/graph-io.ts';
import { buildDecoderGraph, buildEncoderGraph } from '../tools/exporter/graphs/dallebart.ts';
import { buildVqganGraph } from '../tools/exporter/graphs/vqgan.ts';
import { dalleBartLayout, vqganLayout } from '../tools/exporter/layout.ts';
import { Layers } from '../tools/exporter/graphs/layers.ts';
import { buildSession, int64, ort, relativeError, smallVqganConfig } from './helpers/graphs.ts';
import { gelu, referenceDecoder, referenceEncoder } from './reference/dallebart.ts';
import { MemoryParams, randomParams } from './reference/memory-params.ts';
import { referenceVqgan } from './reference/vqgan.ts';

const config: DalleBartConfig = {
  dModel: 32,
  encoderLayers: 2,
  decoderLayers: 2,
  encoderHeads: 2,
  decoderHeads: 4,
  encoderFfnDim: 48,
  decoderFfnDim: 40,
  encoderVocabSize: 100,
  imageVocabSize: 64,
  maxTextLength: 8,
  imageLength: 256,
  decoderStartTokenId: 64,
};
const params = randomParams(dalleBartLayout(config), 7);
// Row 0: a prompt with padding; row 1: the unconditional row [<s>, </s>, pad…].
const ids = [
  [0, 17, 42, 9, 2, 1, 1, 1],
  [0, 2, 1, 1, 1, 1, 1, 1],
];
const mask = ids.map((row) => row.map((id) => (id === 1 ? 0 : 1)));
const TOLERANCE = 1e-4;

async function runEncoder(): Promise<Record<string, ort.Tensor>> {
  const encoder = await buildSession('encoder', (b) => buildEncoderGraph(b, params, config, 'fp32'));
  return encoder.run({
    [ENCODER_INPUTS.inputIds]: int64(ids.flat(), [2, 8]),
    [ENCODER_INPUTS.attentionMask]: int64(mask.flat(), [2, 8]),
  });
}

void test('encoder graph matches the reference encoder', async () => {
  const out = await runEncoder();
  const expected = referenceEncoder(params, config, ids, mask);
  const err = relativeError(out[ENCODER_OUTPUTS.lastHiddenState]!.data as Float32Array, expected);
  assert.ok(err <= TOLERANCE, `relative error ${err}`);
});

void test('decoding with the KV cache step by step equals the full prefix without it (2 images)', async () => {
  const cross = await runEncoder();
  const decoder = await buildSession('decoder', (b) => buildDecoderGraph(b, params, config, 'fp32'));
  const S = config.imageLength;
  const V = config.imageVocabSize + 1;
  const hd = config.dModel / config.decoderHeads;
  // Rows: image 0 cond, image 1 cond, image 0 uncond, image 1 uncond — each cond row attends to
  // encoder row 0 and each uncond row to encoder row 1, as the reference computes row by row.
  const rows = 4;
  const encoderRow = [0, 0, 1, 1];
  const encoded = referenceEncoder(params, config, ids, mask);
  const rowSize = 8 * config.dModel;
  const encoderOut = new Float32Array(rows * rowSize);
  encoderRow.forEach((e, r) => encoderOut.set(encoded.subarray(e * rowSize, (e + 1) * rowSize), r * rowSize));
  // Fixed token streams (teacher forcing) starting with the image start token.
  const tokens = encoderRow.map((_, row) => [
    config.decoderStartTokenId,
    ...Array.from({ length: S - 1 }, (_, i) => (i * 7 + row * 13) % 64),
  ]);
  const expected = referenceDecoder(
    params,
    config,
    encoderOut,
    encoderRow.map((e) => mask[e]!),
    tokens,
  );

  const feeds: Record<string, ort.Tensor> = { [DECODER_INPUTS.attentionMask]: int64(mask.flat(), [2, 8]) };
  for (const { key, value } of crossAttentionNames(config)) {
    feeds[key] = cross[key]!;
    feeds[value] = cross[value]!;
  }
  for (const { key, value } of cacheNames(config, 'past')) {
    feeds[key] = new ort.Tensor('float32', new Float32Array(rows * config.dModel * S), [
      rows,
      config.decoderHeads,
      hd,
      S,
    ]);
    feeds[value] = new ort.Tensor('float32', new Float32Array(rows * config.dModel * S), [
      rows,
      config.decoderHeads,
      S,
      hd,
    ]);
  }
  let worst = 0;
  for (let step = 0; step < S; step++) {
    const stepFeeds = {
      [DECODER_INPUTS.inputIds]: int64(
        tokens.map((t) => t[step]!),
        [rows],
      ),
      [DECODER_INPUTS.position]: int64([step], []),
    };
    const out = await decoder.run({ ...feeds, ...stepFeeds });
    for (const { present, past } of cacheFeedback(config)) feeds[past] = out[present]!;
    const logits = out[DECODER_OUTPUTS.logits]!.data as Float32Array;
    const want = new Float32Array(rows * V);
    for (let r = 0; r < rows; r++) want.set(expected.subarray((r * S + step) * V, (r * S + step + 1) * V), r * V);
    worst = Math.max(worst, relativeError(logits, want));
  }
  assert.ok(worst <= TOLERANCE, `worst relative error over ${S} steps: ${worst}`);
});

void test('VQGAN graph matches the reference decoder', async () => {
  const vq = smallVqganConfig(32, 1);
  const vqParams = randomParams(vqganLayout(vq), 3);
  const codes = [
    Array.from({ length: 64 }, (_, i) => (i * 5) % 64),
    Array.from({ length: 64 }, (_, i) => (i * i) % 64),
  ];
  const session = await buildSession('vqgan', (b) => buildVqganGraph(b, vqParams, vq, 'fp32'));
  const out = await session.run({ [VQGAN_INPUTS.codes]: int64(codes.flat(), [2, 64]) });
  const pixels = out[VQGAN_OUTPUTS.pixels]!;
  assert.deepEqual(pixels.dims, [2, 3, 16, 16]);
  const err = relativeError(pixels.data as Float32Array, referenceVqgan(vqParams, vq, codes));
  assert.ok(err <= TOLERANCE, `relative error ${err}`);
});

void test('GELU is the exact erf form, not the tanh approximation', async () => {
  const xs = Float32Array.from({ length: 61 }, (_, i) => -3 + i * 0.1);
  const session = await buildSession('gelu', (b) => {
    const L = new Layers(b, 'fp32');
    b.output('y', L.gelu(b.input('x', 'float32', [61])), 'float32', [61]);
  });
  const y = (await session.run({ x: new ort.Tensor('float32', xs, [61]) })).y!.data as Float32Array;
  // The tanh form differs from erf by up to ~1e-3 here; the exact form must agree to float precision.
  xs.forEach((x, i) => assert.ok(Math.abs(y[i]! - gelu(x)) < 2e-6, `gelu(${x}) = ${y[i]}, want ${gelu(x)}`));
});

void test('LayerNorm epsilon is 1e-5: tiny activations make eps dominate', async () => {
  const tensors = new Map(
    [...params.tensors].map(([path, t]) => [path, { shape: [...t.shape], data: Float32Array.from(t.data) }]),
  );
  for (const path of ['model/encoder/embed_tokens/embedding', 'model/encoder/embed_positions/embedding']) {
    tensors.get(path)!.data.forEach((v, i, a) => (a[i] = v * 1e-3));
  }
  const small = new MemoryParams(tensors);
  const encoder = await buildSession('encoder', (b) => buildEncoderGraph(b, small, config, 'fp32'));
  const out = await encoder.run({
    [ENCODER_INPUTS.inputIds]: int64(ids.flat(), [2, 8]),
    [ENCODER_INPUTS.attentionMask]: int64(mask.flat(), [2, 8]),
  });
  const err = relativeError(
    out[ENCODER_OUTPUTS.lastHiddenState]!.data as Float32Array,
    referenceEncoder(small, config, ids, mask),
  );
  assert.ok(err <= TOLERANCE, `relative error ${err}`);
});
