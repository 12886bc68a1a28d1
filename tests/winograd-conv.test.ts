/** A 3×3 convolution on our kernels (src/kernels/winograd-conv.ts) against the direct convolution in float64. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StandaloneConv3x3 } from '../src/kernels/winograd-conv.ts';
import type { Conv3x3Weights } from '../src/kernels/winograd-conv.ts';
import { fillNormal } from '../tools/exporter/prng.ts';

/** y [size, size, K] = conv3×3(x [size, size, C]) + bias, padding 1, in float64. */
function directConv(x: Float32Array, w: Conv3x3Weights, size: number): Float64Array {
  const { channels: C, outputs: K, kernel, bias } = w;
  const y = new Float64Array(size * size * K);
  for (let r = 0; r < size; r++)
    for (let s = 0; s < size; s++)
      for (let k = 0; k < K; k++) {
        let sum = bias[k]!;
        for (let i = 0; i < 3; i++)
          for (let j = 0; j < 3; j++) {
            const [rr, ss] = [r + i - 1, s + j - 1];
            if (rr < 0 || ss < 0 || rr >= size || ss >= size) continue;
            for (let c = 0; c < C; c++) sum += x[(rr * size + ss) * C + c]! * kernel[((k * C + c) * 3 + i) * 3 + j]!;
          }
        y[(r * size + s) * K + k] = sum;
      }
  return y;
}

/** Relative RMS error of `got` against `want`. */
function relativeError(got: Float32Array, want: Float64Array): number {
  let err = 0;
  let norm = 0;
  want.forEach((v, i) => {
    err += (got[i]! - v) ** 2;
    norm += v * v;
  });
  return Math.sqrt(err / norm);
}

void test('3×3 convolution on our kernels: Winograd F(2×2), F(4×4) and F(6×6) as the direct convolution, at the edges', () => {
  for (const [m, size, C, K] of [
    [2, 9, 8, 4],
    [4, 8, 4, 4],
    [4, 13, 8, 12],
    [6, 17, 12, 8],
    [6, 12, 16, 20],
    // A larger map: 100 tiles.
    [4, 40, 8, 4],
  ] as const) {
    const weights: Conv3x3Weights = {
      kernel: fillNormal(new Float32Array(K * C * 9), m + size, 0, 0.2),
      bias: fillNormal(new Float32Array(K), K, 0, 0.5),
      channels: C,
      outputs: K,
    };
    const x = fillNormal(new Float32Array(size * size * C), size * C, 0, 1);
    const conv = new StandaloneConv3x3(weights, { m, size });
    const want = directConv(x, weights, size);
    const error = relativeError(conv.run(x), want);
    assert.ok(error < (m === 6 ? 1e-5 : 2e-6), `F(${m}×${m}) ${size}² ${C}→${K}: relative error ${error}`);
    const residual = fillNormal(new Float32Array(size * size * K), 7, 0, 1);
    const withResidual = relativeError(
      conv.run(x, residual),
      want.map((v, i) => v + residual[i]!),
    );
    assert.ok(withResidual < 1e-5, `with a residual: ${withResidual}`);
  }
});
