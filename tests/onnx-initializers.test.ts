/** Reading an ONNX model's weights without ONNX Runtime: inline and external, and a real q8 decoder's layers. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Int8Gemm } from '../src/kernels/int8-gemm.ts';
import { float32Values, int8Values, OnnxFormatError, readInitializers } from '../src/model/onnx-initializers.ts';
import { GraphBuilder } from '../tools/exporter/onnx/graph-builder.ts';
import type { WeightSink } from '../tools/exporter/onnx/graph-builder.ts';
import { fillNormal } from '../tools/exporter/prng.ts';
import { tinyModel } from './helpers/fixtures.ts';
import { FuzzRng, mutate, randomBytes } from './helpers/fuzz.ts';
import { ort, relativeError } from './helpers/graphs.ts';

/** External data kept in memory, aligned like the exporter's files. */
class MemorySink implements WeightSink {
  private chunks: Uint8Array[] = [];
  private size = 0;
  write(bytes: Uint8Array) {
    const padding = (64 - (this.size % 64)) % 64;
    this.chunks.push(new Uint8Array(padding), bytes.slice());
    const offset = this.size + padding;
    this.size = offset + bytes.length;
    return { location: 'weights.bin', offset, length: bytes.length };
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }
}

void test('initializers read back as written: types, shapes, inline and external bytes', () => {
  const sink = new MemorySink();
  const b = new GraphBuilder('g', sink);
  const big = Int8Array.from({ length: 3000 }, (_, i) => (i % 255) - 127);
  const small = Float32Array.from([1.5, -2, 3.25, 0, 7, -0.5]);
  const x = b.input('x', 'float32', [2, 3]);
  const y = b.op('Add', [x, b.initializer('small', 'float32', [2, 3], small)]);
  b.output('y', b.op('Mul', [y, b.scalar('float32', 2)]), 'float32', [2, 3]);
  // Serialized graphs keep only the initializers a node reads.
  b.output('big', b.op('Identity', [b.initializer('big.q8', 'int8', [1000, 3], big)]), 'int8', [1000, 3]);
  const weights = sink.bytes();
  const read = readInitializers(b.serialize(), [{ path: 'weights.bin', data: weights }]);
  assert.deepEqual(read.get('small'), {
    name: 'small',
    type: 'float32',
    dims: [2, 3],
    bytes: new Uint8Array(small.buffer),
  });
  const q8 = read.get('big.q8')!;
  assert.deepEqual([q8.type, q8.dims], ['int8', [1000, 3]]);
  assert.deepEqual(int8Values(q8), big);
  assert.equal(q8.bytes.buffer, weights.buffer, 'external bytes are a view, not a copy');
  const scalar = [...read.values()].find((t) => t.dims.length === 0)!;
  assert.deepEqual(float32Values(scalar), Float32Array.from([2]));

  assert.throws(() => readInitializers(b.serialize()), /external data file "weights.bin" was not given/);
  assert.throws(
    () => readInitializers(b.serialize(), [{ path: 'weights.bin', data: weights.subarray(0, 100) }]),
    /3000 bytes at \d+ do not fit "weights.bin"/,
  );
  const model = b.serialize();
  assert.throws(() => readInitializers(model.subarray(0, model.length - 3)), OnnxFormatError);
});

void test("a q8 export's linear layer, read from its files, multiplies on our kernel as ONNX Runtime does", async () => {
  const dir = tinyModel('q8');
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
    graphs: { decoder: { file: string; externalData: string[] } };
  };
  const entry = manifest.graphs.decoder;
  const externalData = entry.externalData.map((path) => ({ path, data: readFileSync(join(dir, path)) }));
  const weights = readInitializers(readFileSync(join(dir, entry.file)), externalData);
  const q8 = weights.get('decoder.0.self.q.q8')!;
  const scales = weights.get('decoder.0.self.q.scales')!;
  const [inDim, outDim] = q8.dims as [number, number];
  const q = int8Values(q8);
  const s = float32Values(scales);
  assert.throws(() => float32Values(q8), /decoder.0.self.q.q8 is int8, not float32/);

  // ONNX Runtime's reference: x · DequantizeLinear(q, s) along the columns.
  const b = new GraphBuilder('layer', null);
  const w = b.op(
    'DequantizeLinear',
    [b.initializer('q', 'int8', [inDim, outDim], q), b.initializer('s', 'float32', [outDim], s)],
    {
      axis: { i: 1 },
    },
  );
  b.output('y', b.op('MatMul', [b.input('x', 'float32', [4, inDim]), w]), 'float32', [4, outDim]);
  const session = await ort.InferenceSession.create(b.serialize());
  const x = fillNormal(new Float32Array(4 * inDim), 2, 0, 1);
  const { y } = await session.run({ x: new ort.Tensor('float32', x, [4, inDim]) });
  await session.release();

  const gemm = await Int8Gemm.create();
  const ours = gemm.multiply(gemm.addLinear(q, s, inDim, outDim), x, 4);
  assert.ok(relativeError(ours, y!.data as Float32Array) < 2e-3);
});

void test('damaged model bytes: either read or an OnnxFormatError, never another error', () => {
  const b = new GraphBuilder('g', null);
  const x = b.input('x', 'float32', [3]);
  const w = b.initializer('w', 'float32', [3], Float32Array.from([1, 2, 3]));
  b.output('y', b.op('Add', [x, w]), 'float32', [3]);
  const model = b.serialize();
  const rng = new FuzzRng(7);
  for (let i = 0; i < 2000; i++) {
    const bytes = i % 4 === 0 ? randomBytes(rng, 64) : mutate(model, rng);
    try {
      readInitializers(bytes);
    } catch (error) {
      assert.ok(error instanceof OnnxFormatError, `case ${i}: ${String(error)}`);
    }
  }
});
