/**
 * The relaxed SIMD GEMM kernel's parts that run anywhere: its activations as 6-bit limbs (the `limbs` kernel against
 * its TypeScript model), the integer identity it relies on (exact in wrapping 32-bit arithmetic up to the largest
 * inner dimension), and how Int8Gemm chooses between the kernels. The kernel itself needs relaxed SIMD, which Node 20
 * lacks: e2e/gemm-threads.spec.ts checks it against `dot16` bit for bit in Chromium (on one thread and on three).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseGemmKernel, relaxedSimdCompiles } from '../src/kernels/gemm-kernel-choice.ts';
import type { GemmKernel } from '../src/kernels/int8-gemm-kernel.ts';
import {
  ACTIVATION_OFFSET,
  columnOffsets,
  columnOffsetsFunction,
  K_BLOCK,
  LIMB,
  packInt8Panels,
  PANEL_COLUMNS,
  padTo,
} from '../src/kernels/int8-gemm-kernel.ts';
import { ACTIVATION_LEVELS, Int8Gemm, MAX_IN_DIM, toLimbs } from '../src/kernels/int8-gemm.ts';
import { limbsFunction } from '../src/kernels/row-kernels.ts';
import { encodeModule } from '../src/kernels/wasm-binary.ts';

function levels(count: number, seed: number): Int16Array {
  let s = seed;
  const out = Int16Array.from({ length: count }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return ((s >>> 8) % (2 * ACTIVATION_LEVELS + 1)) - ACTIVATION_LEVELS;
  });
  out.set([ACTIVATION_LEVELS, -ACTIVATION_LEVELS, 0, -1].slice(0, count));
  return out;
}

void test('the limbs kernel rewrites rounded activations in place as toLimbs says, whole vectors and a last block', async () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const { instance } = await WebAssembly.instantiate(encodeModule({ limbs: limbsFunction() }, { shared: false }), {
    env: { memory },
  });
  const limbs = instance.exports['limbs'] as (at: number, count: number) => void;
  for (const count of [4, 8, 12, 36, 1024]) {
    const q = levels(count, count);
    const at = 64;
    new Int16Array(memory.buffer, at, count).set(q);
    new Uint8Array(memory.buffer, at + 2 * count, 16).fill(0xee);
    limbs(at, count);
    assert.deepEqual(new Uint8Array(memory.buffer, at, 2 * count), toLimbs(q), `${count} activations`);
    assert.ok(
      new Uint8Array(memory.buffer, at + 2 * count, 16).every((b) => b === 0xee),
      'nothing written past',
    );
  }
  const limbsOf = toLimbs(new Int16Array([ACTIVATION_LEVELS, -ACTIVATION_LEVELS, 0, 5]));
  assert.deepEqual([...limbsOf], [63, 1, 0, 5, 63, 0, 32, 32]);
  assert.ok(
    limbsOf.every((limb) => limb < LIMB),
    'every limb fits the 7-bit operand',
  );
});

void test('the columnOffsets kernel sums the packed panels as its TypeScript model sums the weights', async () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1024 });
  const { instance } = await WebAssembly.instantiate(
    encodeModule({ columnOffsets: columnOffsetsFunction() }, { shared: false }),
    { env: { memory } },
  );
  const kernel = instance.exports['columnOffsets'] as (wp: number, n: number, k: number, out: number) => void;
  for (const [inDim, outDim, fill] of [
    [4, 8, 'random'],
    [37, 13, 'random'],
    [1024, 24, 'random'],
    [MAX_IN_DIM, 9, 'extreme'],
  ] as const) {
    const q = Int8Array.from({ length: inDim * outDim }, (_, i) =>
      fill === 'extreme' ? (i % outDim < 4 ? 127 : -127) : ((i * 7919 + inDim) % 255) - 127,
    );
    const [paddedIn, paddedOut] = [padTo(inDim, K_BLOCK), padTo(outDim, PANEL_COLUMNS)];
    const out = paddedIn * paddedOut;
    const needed = out + 4 * paddedOut;
    if (needed > memory.buffer.byteLength) memory.grow(Math.ceil((needed - memory.buffer.byteLength) / 65536));
    packInt8Panels(q, inDim, outDim, new Int8Array(memory.buffer, 0, out));
    kernel(0, paddedOut, paddedIn, out);
    const want = new Int32Array(paddedOut);
    columnOffsets(q, inDim, outDim, want);
    assert.deepEqual(new Int32Array(memory.buffer, out, paddedOut), want, `[${inDim}, ${outDim}]`);
  }
});

void test('64 Σ w·hi + Σ w·lo − offset is Σ w·q in wrapping 32-bit arithmetic, at the largest inner dimension', () => {
  const k = MAX_IN_DIM;
  const cases: [string, (i: number) => number, (i: number) => number][] = [
    ['largest positive', () => ACTIVATION_LEVELS, () => 127],
    ['largest negative', () => -ACTIVATION_LEVELS, () => 127],
    ['mixed signs', (i) => (i % 3 === 0 ? -ACTIVATION_LEVELS : ACTIVATION_LEVELS), (i) => (i % 2 ? -127 : 127)],
    ['random', (i) => levels(k, 3)[i]!, (i) => ((i * 7919) % 255) - 127],
  ];
  for (const [name, q, w] of cases) {
    const x = Int16Array.from({ length: k }, (_, i) => q(i));
    const weights = Int8Array.from({ length: k }, (_, i) => w(i));
    const limbs = toLimbs(x);
    // The kernel's int32 lanes: each sum wraps as it goes, which only changes it by multiples of 2³².
    let [hi, lo, exact] = [0, 0, 0];
    for (let i = 0; i < k; i++) {
      const at = 2 * (i - (i % 4)) + (i % 4);
      lo = (lo + weights[i]! * limbs[at]!) | 0;
      hi = (hi + weights[i]! * limbs[at + 4]!) | 0;
      exact += weights[i]! * x[i]!;
    }
    const offset = new Int32Array(1);
    columnOffsets(weights, k, 1, offset);
    assert.equal((Math.imul(hi, LIMB) + lo - offset[0]!) | 0, exact, name);
    assert.ok(Math.abs(exact) < 2 ** 31, `${name}: the exact sum fits`);
  }
  assert.equal(ACTIVATION_OFFSET, (LIMB * LIMB) / 2);
});

void test('the choice: relaxed only when it agrees with dot16 and is clearly faster', () => {
  const run = (costs: Record<GemmKernel, number>, wrong: 'never' | 'cold' | 'warm') => {
    let clock = 0;
    let calls = 0;
    const product = (kernel: GemmKernel) => {
      calls++;
      clock += costs[kernel];
      const off = kernel === 'relaxed' && (wrong === 'cold' ? calls <= 2 : wrong === 'warm' && clock > 30);
      return new Float32Array([1, 2, off ? 4 : 3]);
    };
    return chooseGemmKernel(product, () => clock);
  };
  assert.deepEqual(run({ dot16: 1, relaxed: 0.8 }, 'never'), {
    kernel: 'relaxed',
    reason: "relaxed SIMD took 0.80× dot16's time here",
  });
  assert.equal(run({ dot16: 1, relaxed: 0.97 }, 'never').kernel, 'dot16', 'a near tie keeps dot16');
  assert.equal(run({ dot16: 1, relaxed: 1.8 }, 'never').kernel, 'dot16');
  assert.match(run({ dot16: 1, relaxed: 0.5 }, 'cold').reason, /computed other products/);
  assert.match(run({ dot16: 1, relaxed: 0.5 }, 'warm').reason, /once optimized, computed other products/);
});

void test('Int8Gemm runs relaxed SIMD where it compiles and was asked for or won; dot16 elsewhere, saying why', async () => {
  const fastest = await Int8Gemm.create();
  const dot16 = await Int8Gemm.create({ kernel: 'dot16' });
  assert.deepEqual(dot16.kernel, { kernel: 'dot16', reason: 'asked for' });
  if (!relaxedSimdCompiles()) {
    // Node 20: the module is built without the relaxed kernel, and asking for it is an error, not a silent fallback.
    assert.deepEqual(fastest.kernel, { kernel: 'dot16', reason: 'no relaxed SIMD here' });
    await assert.rejects(Int8Gemm.create({ kernel: 'relaxed' }), /relaxed SIMD does not compile here/);
    return;
  }
  assert.match(fastest.kernel.reason, /relaxed SIMD/);
  const relaxed = await Int8Gemm.create({ kernel: 'relaxed' });
  const [rows, inDim, outDim] = [5, 2730, 19];
  const q = Int8Array.from({ length: inDim * outDim }, (_, i) => ((i * 7919) % 255) - 127);
  const scales = new Float32Array(outDim).fill(0.01);
  const x = Float32Array.from({ length: rows * inDim }, (_, i) => Math.sin(i));
  assert.deepEqual(
    relaxed.multiply(relaxed.addLinear(q, scales, inDim, outDim), x, rows),
    dot16.multiply(dot16.addLinear(q, scales, inDim, outDim), x, rows),
  );
});
