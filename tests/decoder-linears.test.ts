/** What `npm run bench:gemm` times and how it turns timings into rates (fast; the benchmark never runs in npm test),
 * and that its two stand-ins compute the same thing. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-web';
import { gemmRate } from '../bench/decoder-linears.ts';
import { linearStack } from '../bench/linear-stand-in.ts';
import { ownLinearStack } from '../bench/own-linear-stack.ts';
import { decoderLinearShapes, weightCount } from '../src/model/decoder-linears.ts';
import { PRESET_SHAPES } from '../tools/exporter/presets.ts';
import { fillNormal } from '../tools/exporter/prng.ts';
import { relativeError } from './helpers/graphs.ts';

void test('the mini decoder step reads 192.9 M linear weights per row', () => {
  // 12 layers × (6 d×d projections + 3 d×f GLU matrices) + the d×(16384 + 1) LM head, d = 1024, f = 2730.
  const expected = 12 * (6 * 1024 * 1024 + 3 * 1024 * 2730) + 1024 * 16385;
  assert.equal(weightCount(decoderLinearShapes(PRESET_SHAPES.mini.dalleBart)), expected);
  assert.equal(expected, 192_914_432);
  const roles = decoderLinearShapes(PRESET_SHAPES.tiny.dalleBart).map((s) => `${s.role}×${s.count}`);
  assert.deepEqual(roles, ['self q/k/v/out×8', 'cross q/out×4', 'GLU in (two)×4', 'GLU out×2', 'LM head×1']);
});

void test('rates: two flops per multiply–add per row, weight bytes once per run', () => {
  const rate = gemmRate(1e9, 18, 500, 4);
  assert.equal(rate.gflops, 72); // 2 × 1e9 × 18 flops in 0.5 s
  assert.equal(rate.weightGBps, 8); // 4e9 bytes in 0.5 s
});

void test('our own int8 kernel runs the same stand-in as ONNX Runtime: q8 weights, output within rounding', async () => {
  const config = PRESET_SHAPES.tiny.dalleBart;
  const rows = 4;
  const x = fillNormal(new Float32Array(rows * config.dModel), 3, 0, 1);
  const session = await ort.InferenceSession.create(linearStack(config, 'q8'));
  const { logits } = await session.run({ x: new ort.Tensor('float32', x, [rows, config.dModel]) });
  await session.release();
  const own = await ownLinearStack(config);
  // q8 on ONNX Runtime multiplies float activations by the dequantized weights; ours rounds them to 12 bits.
  // Measured ≈ 0.2 % of the logits' scale over the tiny chain.
  assert.ok(relativeError(own.run(x, rows), logits!.data as Float32Array) < 0.01);
});
