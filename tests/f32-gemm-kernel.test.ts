/** Our float32 GEMM kernel (src/kernels/f32-gemm-kernel.ts) against float64 sums, both products where they compile. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileF32Gemm, f32PanelFloats, F32_PANEL_COLUMNS, packF32Panels } from '../src/kernels/f32-gemm-kernel.ts';
import type { F32Product } from '../src/kernels/f32-gemm-kernel.ts';
import { padTo } from '../src/kernels/int8-gemm-kernel.ts';
import { fillNormal } from '../tools/exporter/prng.ts';

type Gemm = (...args: number[]) => void;

/** x · w through the kernel, columns shared out as `splits` calls (as threads would take them); y [M, padded N]. */
function multiply(product: F32Product, x: Float32Array, w: Float32Array, M: number, K: number, N: number, splits = 1) {
  const module = compileF32Gemm(product, { shared: false });
  if (!module) return null;
  const memory = new WebAssembly.Memory({ initial: 64 });
  const gemm = new WebAssembly.Instance(module, { env: { memory } }).exports.gemm as Gemm;
  const paddedN = padTo(N, F32_PANEL_COLUMNS);
  const wp = 0;
  const xAt = wp + 4 * f32PanelFloats(K, N);
  const biasAt = xAt + 4 * M * K;
  const yAt = biasAt + 4 * paddedN;
  assert.ok(yAt + 4 * M * paddedN <= memory.buffer.byteLength);
  // Column n's bias is n / 8: every row starts from it.
  new Float32Array(memory.buffer, biasAt, paddedN).set(Array.from({ length: paddedN }, (_, n) => n / 8));
  packF32Panels(w, K, N, new Float32Array(memory.buffer, wp, f32PanelFloats(K, N)));
  new Float32Array(memory.buffer, xAt, M * K).set(x);
  const panels = paddedN / F32_PANEL_COLUMNS;
  for (let s = 0; s < splits; s++) {
    const p0 = Math.floor((s * panels) / splits) * F32_PANEL_COLUMNS;
    const p1 = Math.floor(((s + 1) * panels) / splits) * F32_PANEL_COLUMNS;
    gemm(wp, xAt, biasAt, yAt, M, paddedN, K, p0, p1);
  }
  return new Float32Array(memory.buffer.slice(yAt, yAt + 4 * M * paddedN));
}

function check(product: F32Product, M: number, K: number, N: number, splits: number): boolean {
  const x = new Float32Array(M * K);
  const w = new Float32Array(K * N);
  fillNormal(x, M * 1000 + K, 0, 1);
  fillNormal(w, N * 1000 + K, 0, 0.1);
  const y = multiply(product, x, w, M, K, N, splits);
  if (!y) return false;
  const paddedN = padTo(N, F32_PANEL_COLUMNS);
  let worst = 0;
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let sum = n / 8;
      let magnitude = n / 8;
      for (let k = 0; k < K; k++) {
        sum += x[m * K + k]! * w[k * N + n]!;
        magnitude += Math.abs(x[m * K + k]! * w[k * N + n]!);
      }
      // float32 sums of K products: a few units of 2⁻²⁴ of Σ|terms| per term.
      worst = Math.max(worst, Math.abs(y[m * paddedN + n]! - sum) / Math.max(magnitude * K * 2 ** -23, 1e-30));
    }
  }
  assert.ok(worst < 1, `${product} ${M}×${K}×${N}: error ${worst.toFixed(3)} of the bound`);
  return true;
}

void test('f32 GEMM: x · w + bias of float64 within float32 rounding, any M, N and K, columns shared out', () => {
  for (const [M, K, N, splits] of [
    [1, 1, 1, 1],
    [5, 3, 9, 1],
    [4, 16, 8, 1],
    [37, 64, 24, 3],
    [130, 128, 130, 2],
  ] as const) {
    assert.ok(check('mul-add', M, K, N, splits));
    // Only where this engine compiles relaxed SIMD (Chromium; Node 20 behind a flag).
    check('relaxed-madd', M, K, N, splits);
  }
});

void test('f32 GEMM: panels of 8 columns per k, padding columns zero', () => {
  const w = Float32Array.from({ length: 3 * 10 }, (_, i) => i + 1);
  const panels = new Float32Array(f32PanelFloats(3, 10)).fill(-1);
  packF32Panels(w, 3, 10, panels);
  assert.equal(panels.length, 3 * 16);
  assert.deepEqual([...panels.subarray(0, 8)], [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual([...panels.subarray(8, 16)], [11, 12, 13, 14, 15, 16, 17, 18]);
  assert.deepEqual([...panels.subarray(24, 32)], [9, 10, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...panels.subarray(40, 48)], [29, 30, 0, 0, 0, 0, 0, 0]);
});
