/** Weight-only quantizers, and the quantized tiny exports run and stay close to fp32. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Q4_BLOCK,
  quantizeInt8PerColumn,
  quantizeInt8PerRow,
  quantizeQ4Blockwise,
} from '../tools/exporter/graphs/quantize.ts';
import { measureQuantizationError } from '../tools/exporter/quantization-report.ts';
import { fillNormal } from '../tools/exporter/prng.ts';
import { tinyModel } from './helpers/fixtures.ts';

const K = 70; // not a multiple of the block: the last block is padded
const N = 5;
const w = fillNormal(new Float32Array(K * N), 1, 0, 1);

void test('int8 per column / per row round-trips within half a step', () => {
  const col = quantizeInt8PerColumn(w, K, N);
  for (let k = 0; k < K; k++)
    for (let n = 0; n < N; n++) {
      assert.ok(Math.abs(col.q[k * N + n]! * col.scales[n]! - w[k * N + n]!) <= col.scales[n]! / 2 + 1e-7);
    }
  const row = quantizeInt8PerRow(w, K, N);
  for (let k = 0; k < K; k++)
    for (let n = 0; n < N; n++) {
      assert.ok(Math.abs(row.q[k * N + n]! * row.scales[k]! - w[k * N + n]!) <= row.scales[k]! / 2 + 1e-7);
    }
});

void test('q4 packs MatMulNBits blocks, low nibble first, zero point 8', () => {
  const { packed, scales, blocks } = quantizeQ4Blockwise(w, K, N);
  assert.equal(blocks, 3);
  assert.equal(packed.length, N * blocks * (Q4_BLOCK / 2));
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const b = Math.floor(k / Q4_BLOCK);
      const i = k % Q4_BLOCK;
      const byte = packed[(n * blocks + b) * (Q4_BLOCK / 2) + (i >> 1)]!;
      const q = i & 1 ? byte >> 4 : byte & 0xf;
      const scale = scales[n * blocks + b]!;
      assert.ok(Math.abs((q - 8) * scale - w[k * N + n]!) <= scale / 2 + 1e-6, `n=${n} k=${k}`);
    }
  }
});

void test('the report is exact for fp32 against itself', async () => {
  const fp32 = tinyModel('fp32');
  const report = await measureQuantizationError(fp32, fp32);
  assert.equal(report.maxLogitError, 0);
  assert.equal(report.agreement, report.steps);
  assert.equal(report.psnr, Infinity);
});

for (const dtype of ['q8', 'q4', 'fp16'] as const) {
  void test(`${dtype} export runs and stays close to fp32`, async () => {
    const report = await measureQuantizationError(tinyModel('fp32'), tinyModel(dtype));
    assert.ok(report.maxLogitError < 0.25 * report.logitScale, `max |Δlogit| ${report.maxLogitError}`);
    assert.ok(report.agreement >= 0.9 * report.steps, `agreement ${report.agreement}/${report.steps}`);
    assert.ok(report.psnr > 30, `PSNR ${report.psnr}`);
  });
}
