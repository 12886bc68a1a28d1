/**
 * The VQGAN decoder on our float kernels (src/kernels/vqgan-decoder.ts) draws what ONNX Runtime draws from the same
 * graph's weights (read from its initializers), for every dtype the exporter writes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VQGAN_INPUTS, VQGAN_OUTPUTS } from '../src/model/graph-io.ts';
import { readInitializers } from '../src/model/onnx-initializers.ts';
import { OwnVqgan } from '../src/kernels/vqgan-decoder.ts';
import { vqganTensorsFromOnnx } from '../src/kernels/vqgan-tensors.ts';
import { buildVqganGraph } from '../tools/exporter/graphs/vqgan.ts';
import { GraphBuilder } from '../tools/exporter/onnx/graph-builder.ts';
import { vqganLayout } from '../tools/exporter/layout.ts';
import { int64, ort } from './helpers/graphs.ts';
import { psnr } from '../tools/image-psnr.ts';
import { spawnNodeGemmHelper } from '../tools/node/gemm-helper.ts';
import { randomParams } from './reference/memory-params.ts';
import type { VqganConfig } from '../src/model/config.ts';

// Three levels (maps of 8, 16 and 32), attention at 8, channel changes with nin_shortcut, two blocks per level.
const config: VqganConfig = {
  ch: 32,
  chMult: [1, 2, 2],
  numResBlocks: 1,
  attnResolutions: [8],
  resolution: 32,
  zChannels: 16,
  embedDim: 8,
  nEmbed: 64,
  outCh: 3,
};
const params = randomParams(vqganLayout(config), 5);
const images = 2;
const codes = Array.from({ length: images * 64 }, (_, i) => (i * 37 + (i >> 3)) % 64);

for (const dtype of ['fp32', 'q8', 'fp16'] as const) {
  void test(`${dtype}: our VQGAN draws ONNX Runtime's pixels from the graph's own weights`, async (t) => {
    const b = new GraphBuilder('vqgan', null);
    buildVqganGraph(b, params, config, dtype, 'direct');
    const model = b.serialize();
    const session = await ort.InferenceSession.create(model);
    const out = await session.run({ [VQGAN_INPUTS.codes]: int64(codes, [images, 64]) });
    await session.release();
    const want = out[VQGAN_OUTPUTS.pixels]!.data as Float32Array;
    const ours = await OwnVqgan.create(config, vqganTensorsFromOnnx(readInitializers(model)));
    const got = ours.decode(codes, images);
    assert.equal(got.length, want.length);
    const db = psnr(got, want);
    t.diagnostic(`${db.toFixed(1)} dB`);
    assert.ok(db >= 80, `${db.toFixed(1)} dB`);
  });
}

void test('our VQGAN: attention over pixel counts that are not whole panels (6², 12²), at more than one level', async () => {
  // A 6 × 6 grid: 36 and 144 pixels, neither a multiple of the GEMM's 8 columns; attention on both maps.
  const odd: VqganConfig = { ...config, chMult: [1, 2], resolution: 12, attnResolutions: [6, 12] };
  const b = new GraphBuilder('vqgan', null);
  buildVqganGraph(b, randomParams(vqganLayout(odd), 9), odd, 'fp32', 'direct');
  const model = b.serialize();
  const oddCodes = codes.slice(0, 36);
  const session = await ort.InferenceSession.create(model);
  const out = await session.run({ [VQGAN_INPUTS.codes]: int64(oddCodes, [1, 36]) });
  await session.release();
  const ours = await OwnVqgan.create(odd, vqganTensorsFromOnnx(readInitializers(model)));
  const db = psnr(ours.decode(oddCodes, 1), out[VQGAN_OUTPUTS.pixels]!.data as Float32Array);
  assert.ok(db >= 80, `${db.toFixed(1)} dB`);
});

void test('our VQGAN refuses a code outside the codebook', async () => {
  const b = new GraphBuilder('vqgan', null);
  buildVqganGraph(b, params, config, 'fp32', 'direct');
  const ours = await OwnVqgan.create(config, vqganTensorsFromOnnx(readInitializers(b.serialize())));
  assert.throws(() => ours.decode([...codes.slice(0, 63), 64], 1), /code 64 is no VQGAN code/);
});

void test('our VQGAN on two threads draws the same pixels as on one', async () => {
  const b = new GraphBuilder('vqgan', null);
  buildVqganGraph(b, params, config, 'q8', 'direct');
  const tensors = vqganTensorsFromOnnx(readInitializers(b.serialize()));
  const one = await OwnVqgan.create(config, tensors);
  const two = await OwnVqgan.create(config, tensors, { threads: 2, spawnHelper: spawnNodeGemmHelper });
  try {
    assert.equal(two.threadCount, 2);
    // Every share computes whole columns, tile rows, channels or map rows: the same arithmetic, bit for bit.
    assert.deepEqual(two.decode(codes, images), one.decode(codes, images));
  } finally {
    await two.release();
  }
});
