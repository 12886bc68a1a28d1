/**
 * How the decoder files only WebGPU loads are written (GraphTarget 'webgpu', docs/model-format.md#layer-norm): norms
 * as SkipLayerNormalization (of x with itself and 4ε the same values as LayerNormalization with ε; with the residual
 * add folded in the same values and sum as Add then the norm), com.microsoft's Gelu, no Transposes, the queries' scale
 * in the q projections' weight scales (exact), so fewer kernels than the files CPUs load.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { Layers } from '../tools/exporter/graphs/layers.ts';
import type { GraphTarget } from '../tools/exporter/graphs/layers.ts';
import { buildSession, ort, relativeError } from './helpers/graphs.ts';
import { tinyModel } from './helpers/fixtures.ts';
import { nodeOpTypes } from '../src/model/onnx-initializers.ts';
import { PRESET_SHAPES } from '../tools/exporter/presets.ts';

/** β and γ for norms over the last axis of `shape`. */
function normParameters(shape: readonly number[]): { bias: Float32Array; scale: Float32Array } {
  const width = shape[shape.length - 1]!;
  return {
    bias: Float32Array.from({ length: width }, (_, i) => Math.cos(i) / 4),
    scale: Float32Array.from({ length: width }, (_, i) => 1 + Math.sin(i) / 2),
  };
}

async function norms(target: GraphTarget, shape: readonly number[], input: Float32Array): Promise<Float32Array> {
  const { bias, scale } = normParameters(shape);
  const session = await buildSession('norms', (b) => {
    const layers = new Layers(b, 'fp32', 'dequantize', 'int8-rows', target);
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
    const expected = await norms('any', shape, input);
    const actual = await norms('webgpu', shape, input);
    assert.ok(relativeError(actual, expected) < 1e-5, `shape ${shape.join('×')}: ${relativeError(actual, expected)}`);
  }
});

/** LN(residual + x) and residual + x through Layers.addNorm, for each way of writing norms. */
async function addNorms(target: GraphTarget, shape: readonly number[], residual: Float32Array, x: Float32Array) {
  const { bias, scale } = normParameters(shape);
  const session = await buildSession('add-norms', (b) => {
    const layers = new Layers(b, 'fp32', 'dequantize', 'int8-rows', target);
    const r = b.input('r', 'float32', shape);
    const first = layers.addNorm(r, b.input('x', 'float32', shape), 'norm0', bias, null, 1e-5);
    // A second one on the first's sum and normed output, as a decoder layer chains them.
    const second = layers.addNorm(first.sum, first.normed, 'norm1', bias, scale, 1e-5);
    b.output('normed', second.normed, 'float32', shape);
    b.output('sum', second.sum, 'float32', shape);
  });
  const feeds = { r: new ort.Tensor('float32', residual, shape), x: new ort.Tensor('float32', x, shape) };
  const out = await session.run(feeds);
  await session.release();
  return { normed: out.normed!.data as Float32Array, sum: out.sum!.data as Float32Array };
}

void test('SkipLayerNormalization with the residual add folded in equals Add then LayerNormalization', async () => {
  for (const shape of [
    [2, 1024],
    [18, 32],
  ]) {
    const size = shape.reduce((a, b) => a * b, 1);
    const residual = Float32Array.from({ length: size }, (_, i) => 40 + 3 * Math.sin(i * 0.37));
    const x = Float32Array.from({ length: size }, (_, i) => Math.cos(i * 0.11) + (i % 7) / 10);
    const expected = await addNorms('any', shape, residual, x);
    const actual = await addNorms('webgpu', shape, residual, x);
    assert.deepEqual(actual.sum, expected.sum, `shape ${shape.join('×')}: the residual stream`);
    const error = relativeError(actual.normed, expected.normed);
    assert.ok(error < 1e-5, `shape ${shape.join('×')}: ${error}`);
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

void test('a power of two folded into a quantized linear layer’s scales is exactly a Mul after it', async () => {
  const [inDim, outDim] = [64, 48];
  const kernel = Float32Array.from({ length: inDim * outDim }, (_, i) => Math.sin(i * 0.7) / 3);
  const x = Float32Array.from({ length: 3 * inDim }, (_, i) => Math.cos(i * 0.3) * 2);
  for (const dtype of ['q8', 'q4'] as const) {
    const session = await buildSession(`scaled-${dtype}`, (b) => {
      const layers = new Layers(b, dtype);
      const input = b.input('x', 'float32', [3, inDim]);
      const after = b.op('Mul', [layers.linear(input, 'plain', kernel, inDim, outDim), layers.scalar(0.125)]);
      b.output('after', after, 'float32', [3, outDim]);
      b.output('folded', layers.linear(input, 'folded', kernel, inDim, outDim, 0.125), 'float32', [3, outDim]);
    });
    const out = await session.run({ x: new ort.Tensor('float32', x, [3, inDim]) });
    await session.release();
    assert.deepEqual(out.folded!.data, out.after!.data, dtype);
  }
});

void test('the decoder files WebGPU alone loads have fewer kernels: adds in norms, one Gelu, no Transpose', () => {
  const q8 = tinyModel('q8');
  const count = (file: string, op: string): number =>
    nodeOpTypes(readFileSync(join(q8, file))).filter((type) => type === op).length;
  const layers = PRESET_SHAPES.tiny.dalleBart.decoderLayers;
  for (const file of ['decoder_capture.onnx', 'decoder_weight_inputs.onnx']) {
    // A layer's three residual adds, each inside the next norm now, and the 1 + erf of its GELU.
    assert.equal(count(file, 'Add'), count('decoder_host_cache.onnx', 'Add') - 4 * layers, file);
    assert.equal(count(file, 'Erf'), 0, file);
    assert.equal(count(file, 'Gelu'), layers, file);
    // The cross-attention's two a layer: MatMul broadcasts the keys instead.
    assert.equal(count(file, 'Transpose'), 0, file);
    // Both queries' 1/√hd (tiny's hd is 16) and GELU's two; the weight-inputs file's embedding (its table dequantized
    // with the weights) has no row-scale Mul either.
    const embedding = file === 'decoder_weight_inputs.onnx' ? 1 : 0;
    assert.equal(count(file, 'Mul'), count('decoder_host_cache.onnx', 'Mul') - 4 * layers - embedding, file);
  }
  assert.equal(count('decoder_host_cache.onnx', 'Erf'), layers, 'CPU files keep the pattern ORT fuses itself');
});
