/**
 * The decoder's norms as SkipLayerNormalization(x, x) with 4ε (docs/model-format.md#layer-norm): the same values as
 * LayerNormalization with ε, and written in the decoder files only WebGPU loads.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { Layers } from '../tools/exporter/graphs/layers.ts';
import type { NormOp } from '../tools/exporter/graphs/layers.ts';
import { buildSession, ort, relativeError } from './helpers/graphs.ts';
import { tinyModel } from './helpers/fixtures.ts';

async function norms(op: NormOp, shape: readonly number[], input: Float32Array): Promise<Float32Array> {
  const width = shape[shape.length - 1]!;
  const bias = Float32Array.from({ length: width }, (_, i) => Math.cos(i) / 4);
  const scale = Float32Array.from({ length: width }, (_, i) => 1 + Math.sin(i) / 2);
  const session = await buildSession('norms', (b) => {
    const layers = new Layers(b, 'fp32', 'dequantize', 'int8-rows', op);
    let x = b.input('x', 'float32', shape);
    // Three in a row, one bias-only, as in a decoder layer.
    for (let n = 0; n < 3; n++) x = layers.layerNorm(x, `norm${n}`, bias, n === 1 ? null : scale, 1e-5);
    b.output('y', x, 'float32', shape);
  });
  const out = await session.run({ x: new ort.Tensor('float32', input, shape) });
  await session.release();
  return out.y!.data as Float32Array;
}

void test('SkipLayerNormalization of x with itself and 4ε equals LayerNormalization', async () => {
  for (const shape of [
    [2, 1024],
    [18, 32],
    [2, 5, 64],
  ]) {
    const size = shape.reduce((a, b) => a * b, 1);
    // An offset and a spread that make the variance's cancellation matter.
    const input = Float32Array.from({ length: size }, (_, i) => 40 + 3 * Math.sin(i * 0.37) + (i % 7) / 10);
    const expected = await norms('layer-norm', shape, input);
    const actual = await norms('skip-layer-norm', shape, input);
    assert.ok(relativeError(actual, expected) < 1e-5, `shape ${shape.join('×')}: ${relativeError(actual, expected)}`);
  }
});

void test('only the decoder files WebGPU alone loads write SkipLayerNormalization', () => {
  const uses = (dir: string, file: string): boolean => readFileSync(join(dir, file)).includes('SkipLayerNormalization');
  const q8 = tinyModel('q8');
  const fp32 = tinyModel('fp32');
  assert.equal(uses(q8, 'decoder_capture.onnx'), true);
  assert.equal(uses(q8, 'decoder_weight_inputs.onnx'), true);
  // CPUs load these (their SkipLayerNormalization is the slower kernel), and WebGPU the fp32 and fp16 ones.
  assert.equal(uses(q8, 'decoder.onnx'), false);
  assert.equal(uses(q8, 'decoder_host_cache.onnx'), false);
  assert.equal(uses(q8, 'decoder_host_cache_int8.onnx'), false);
  assert.equal(uses(fp32, 'decoder_host_cache.onnx'), false);
  assert.equal(uses(q8, 'encoder.onnx'), false);
});
