/** Our WebAssembly int8 GEMM: exact integer products, padding, row independence, and accuracy against float. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACTIVATION_LEVELS, Int8Gemm, MAX_IN_DIM, quantizeRows } from '../src/kernels/int8-gemm.ts';
import { gelu } from './reference/dallebart.ts';
import { quantizeInt8PerColumn } from '../tools/exporter/graphs/quantize.ts';
import { fillNormal } from '../tools/exporter/prng.ts';
import { spawnNodeGemmHelper } from '../tools/node/gemm-helper.ts';

function randomInt8(n: number, seed: number): Int8Array {
  const q = new Int8Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    q[i] = ((s >>> 16) % 255) - 127;
  }
  return q;
}

/** What the kernel must return, in float64: (x rounded as quantizeRows does) · q · scales. */
function reference(x: Float32Array, rows: number, q: Int8Array, scales: Float32Array, inDim: number, outDim: number) {
  const levels = new Int16Array(rows * inDim);
  const rowScales = new Float32Array(rows);
  quantizeRows(x, rows, inDim, inDim, levels, rowScales);
  const y = new Float64Array(rows * outDim);
  for (let m = 0; m < rows; m++) {
    for (let n = 0; n < outDim; n++) {
      let sum = 0;
      for (let k = 0; k < inDim; k++) sum += levels[m * inDim + k]! * q[k * outDim + n]!;
      y[m * outDim + n] = sum * scales[n]! * rowScales[m]!;
    }
  }
  return y;
}

void test('the kernel multiplies exactly for any shape: odd rows, k and n off the block sizes, several layers', async () => {
  const gemm = await Int8Gemm.create();
  for (const [rows, inDim, outDim] of [
    [1, 4, 8],
    [2, 1024, 24],
    [3, 37, 13],
    [18, 130, 50],
    [5, 2730, 9],
    [13, 64, 20],
  ] as const) {
    const q = randomInt8(inDim * outDim, inDim + outDim);
    const scales = Float32Array.from({ length: outDim }, (_, n) => 0.5 + n / 64);
    const layer = gemm.addLinear(q, scales, inDim, outDim);
    const x = fillNormal(new Float32Array(rows * inDim), rows * inDim, 0, 1);
    const got = gemm.multiply(layer, x, rows);
    const want = reference(x, rows, q, scales, inDim, outDim);
    // Integer sums are exact; only the two float32 scalings round.
    for (let i = 0; i < want.length; i++) {
      assert.ok(
        Math.abs(got[i]! - want[i]!) <= 1e-6 * Math.max(1, Math.abs(want[i]!)),
        `[${rows},${inDim},${outDim}] ${i}`,
      );
    }
  }
});

void test('rows are independent: a row gives the same output alone and among others', async () => {
  const gemm = await Int8Gemm.create();
  const [inDim, outDim] = [64, 40];
  const layer = gemm.addLinear(randomInt8(inDim * outDim, 7), new Float32Array(outDim).fill(0.01), inDim, outDim);
  const x = fillNormal(new Float32Array(5 * inDim), 3, 0, 1);
  x.fill(0, 2 * inDim, 3 * inDim); // a zero row is no division by zero
  x.subarray(4 * inDim).forEach((v, i, row) => (row[i] = v * 1000));
  const all = gemm.multiply(layer, x, 5);
  assert.ok(all.every(Number.isFinite));
  for (let m = 0; m < 5; m++) {
    const one = gemm.multiply(layer, x.slice(m * inDim, (m + 1) * inDim), 1);
    assert.deepEqual(one, all.slice(m * outDim, (m + 1) * outDim));
  }
});

void test('12-bit activations: close to the float product of the dequantized weights', async () => {
  const gemm = await Int8Gemm.create();
  const [rows, inDim, outDim] = [4, 1024, 256];
  const kernel = fillNormal(new Float32Array(inDim * outDim), 11, 0, 1 / Math.sqrt(inDim));
  const { q, scales } = quantizeInt8PerColumn(kernel, inDim, outDim);
  const x = fillNormal(new Float32Array(rows * inDim), 12, 0, 1);
  const got = gemm.multiply(gemm.addLinear(q, scales, inDim, outDim), x, rows);
  let err = 0;
  let norm = 0;
  for (let m = 0; m < rows; m++) {
    for (let n = 0; n < outDim; n++) {
      let sum = 0;
      for (let k = 0; k < inDim; k++) sum += x[m * inDim + k]! * q[k * outDim + n]! * scales[n]!;
      err += (got[m * outDim + n]! - sum) ** 2;
      norm += sum ** 2;
    }
  }
  // Rounding to ±2047 by a row maximum of ≈ 3.5σ: ≈ 0.05 % of the output's size; int8 activations give ≈ 0.8 %.
  assert.ok(Math.sqrt(err / norm) < 0.002, `relative error ${Math.sqrt(err / norm)}`);
});

void test('bad shapes are refused with the reason', async () => {
  const gemm = await Int8Gemm.create();
  assert.throws(() => gemm.addLinear(new Int8Array(6), new Float32Array(3), 3, 3), /do not match \[3, 3\]/);
  assert.throws(
    () => gemm.addLinear(new Int8Array(MAX_IN_DIM + 1), new Float32Array(1), MAX_IN_DIM + 1, 1),
    /would overflow/,
  );
  const layer = gemm.addLinear(new Int8Array(8), new Float32Array(2), 4, 2);
  assert.throws(() => gemm.multiply(layer, new Float32Array(7), 2), /7 activations are not 2 rows of 4/);
  assert.equal(ACTIVATION_LEVELS, 2047);
});

void test('threads claim a call by chunks of columns and give the one-thread result bit for bit', async () => {
  const [rows, inDim, outDim] = [18, 200, 203];
  const q = randomInt8(inDim * outDim, 5);
  const scales = Float32Array.from({ length: outDim }, (_, n) => 1 + n / 100);
  const x = fillNormal(new Float32Array(rows * inDim), 9, 0, 1);
  const one = await Int8Gemm.create();
  const want = one.multiply(one.addLinear(q, scales, inDim, outDim), x, rows);
  for (const threads of [2, 3]) {
    const gemm = await Int8Gemm.create({ threads, spawnHelper: spawnNodeGemmHelper });
    try {
      const layer = gemm.addLinear(q, scales, inDim, outDim);
      for (let call = 0; call < 3; call++) assert.deepEqual(gemm.multiply(layer, x, rows), want, `${threads} threads`);
      // Chunks that trap (weights past the memory's end) fail the call, not the next one.
      const bogus = { ...layer, weightsAt: 2 ** 31 - 64 };
      assert.throws(() => gemm.multiply(bogus, x, rows), /out of bounds|failed its chunk/);
      assert.deepEqual(gemm.multiply(layer, x, rows), want);
      // Fewer panels than threads: one chunk, the others find nothing to claim.
      const small = gemm.addLinear(q.subarray(0, inDim * 8), scales.subarray(0, 8), inDim, 8);
      assert.equal(gemm.multiply(small, x, rows).length, rows * 8);
    } finally {
      await gemm.release();
    }
  }
  await assert.rejects(Int8Gemm.create({ threads: 2 }), /needs spawnHelper/);
});

void test('layers packed side by side give each layer’s own product; the GLU gives GELU(gate) · up', async () => {
  const gemm = await Int8Gemm.create();
  const [rows, inDim] = [5, 70];
  const weights = [13, 8, 21].map((outDim, i) => ({
    q: randomInt8(inDim * outDim, 20 + i),
    scales: Float32Array.from({ length: outDim }, (_, n) => 0.01 + n / 1000),
    outDim,
  }));
  const x = fillNormal(new Float32Array(rows * inDim), 21, 0, 1);
  const alone = weights.map((w) => gemm.multiply(gemm.addLinear(w.q, w.scales, inDim, w.outDim), x, rows));
  assert.deepEqual(gemm.multiplyParts(gemm.addLinears(inDim, weights), x, rows), alone);
  assert.throws(() => gemm.multiply(gemm.addLinears(inDim, weights), x, rows), /needs multiplyParts/);

  const [gate, up] = [weights[0]!, { ...weights[0]!, q: randomInt8(inDim * 13, 30) }];
  const glu = gemm.multiplyGlu(gemm.addLinears(inDim, [gate, up]), x, rows);
  const upAlone = gemm.multiply(gemm.addLinear(up.q, up.scales, inDim, 13), x, rows);
  // erf's error (3e-7 for the polynomial, a few float32 roundings more) is scaled by g/2 · up.
  let worst = 0;
  glu.forEach((got, i) => {
    const [g, u] = [alone[0]![i]!, upAlone[i]!];
    worst = Math.max(worst, Math.abs(got - gelu(g) * u) / Math.max(1e-6, Math.abs(0.5 * g * u)));
  });
  assert.ok(worst < 1e-6, `erf off by ${worst}`);
  assert.throws(() => gemm.multiplyGlu(gemm.addLinears(inDim, weights), x, rows), /two parts of one size/);
});

void test('the quantize kernel rounds as quantizeRows does, ties to even, a zero row to zeros', async () => {
  const gemm = await Int8Gemm.create();
  const inDim = 6;
  // Row 0's maximum 2047 makes levels the values themselves: 0.5 and 1.5 and -2.5 are ties.
  const x = Float32Array.from([2047, 0.5, 1.5, -2.5, 3.49, -0, 0, 0, 0, 0, 0, 0]);
  const identity = new Int8Array(inDim * inDim);
  for (let i = 0; i < inDim; i++) identity[i * inDim + i] = 1;
  const got = gemm.multiply(gemm.addLinear(identity, new Float32Array(inDim).fill(1), inDim, inDim), x, 2);
  assert.deepEqual([...got], [2047, 0, 2, -2, 3, 0, 0, 0, 0, 0, 0, 0]);
  const levels = new Int16Array(2 * 8);
  quantizeRows(x, 2, inDim, 8, levels, new Float32Array(2));
  assert.deepEqual([...levels], [2047, 0, 2, -2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
});

void test('the layerNorm kernel normalizes rows as LayerNormalization does, widths off the vector size included', async () => {
  const gemm = await Int8Gemm.create();
  for (const width of [1024, 2730, 3]) {
    const rows = 3;
    // A mean far from zero and a small spread: what a two-pass variance is for.
    const x = fillNormal(new Float32Array(rows * width), width, 40, 0.5);
    const scale = fillNormal(new Float32Array(width), 1, 1, 0.2);
    const bias = fillNormal(new Float32Array(width), 2, 0, 0.2);
    const got = gemm.layerNorm(gemm.addNorm(scale, bias), x, rows, 1e-5);
    for (let m = 0; m < rows; m++) {
      const row = x.subarray(m * width, (m + 1) * width);
      const mean = row.reduce((a, v) => a + v, 0) / width;
      const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / width;
      for (let c = 0; c < width; c++) {
        const want = ((row[c]! - mean) / Math.sqrt(variance + 1e-5)) * scale[c]! + bias[c]!;
        assert.ok(
          Math.abs(got[m * width + c]! - want) < 2e-4,
          `${width}: [${m}, ${c}] ${got[m * width + c]} vs ${want}`,
        );
      }
    }
  }
  assert.throws(() => gemm.addNorm(new Float32Array(4), new Float32Array(3)), /4 scales has 3 biases/);
});

void test('reserveRows: calls of up to that many rows never grow the memory', async () => {
  const gemm = await Int8Gemm.create();
  const [inDim, outDim] = [64, 4096];
  const layer = gemm.addLinear(randomInt8(inDim * outDim, 3), new Float32Array(outDim).fill(1), inDim, outDim);
  gemm.reserveRows(128);
  const bytes = gemm.memory.buffer.byteLength;
  for (const rows of [2, 37, 128]) gemm.multiply(layer, fillNormal(new Float32Array(rows * inDim), rows, 0, 1), rows);
  assert.equal(gemm.memory.buffer.byteLength, bytes);
});
