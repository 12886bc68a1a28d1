/** GroupNorm and swish on our kernels (src/kernels/group-norm.ts) against float64, inside padded maps. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GROUP_NORM_EPS, GROUP_NORM_GROUPS } from '../src/model/config.ts';
import { groupNormScratchFloats, OwnGroupNorm } from '../src/kernels/group-norm.ts';
import { KernelModule } from '../src/kernels/kernel-module.ts';
import { fillNormal } from '../tools/exporter/prng.ts';

function reference(x: Float32Array, scale: Float32Array, bias: Float32Array, C: number, swish: boolean): Float64Array {
  const per = C / GROUP_NORM_GROUPS;
  const pixels = x.length / C;
  const y = new Float64Array(x.length);
  for (let g = 0; g < GROUP_NORM_GROUPS; g++) {
    let [sum, squares] = [0, 0];
    for (let p = 0; p < pixels; p++) for (let c = g * per; c < (g + 1) * per; c++) sum += x[p * C + c]!;
    const mean = sum / (pixels * per);
    for (let p = 0; p < pixels; p++)
      for (let c = g * per; c < (g + 1) * per; c++) squares += (x[p * C + c]! - mean) ** 2;
    const inverse = 1 / Math.sqrt(squares / (pixels * per) + GROUP_NORM_EPS);
    for (let p = 0; p < pixels; p++)
      for (let c = g * per; c < (g + 1) * per; c++) {
        const z = (x[p * C + c]! - mean) * inverse * scale[c]! + bias[c]!;
        y[p * C + c] = swish ? z / (1 + Math.exp(-z)) : z;
      }
  }
  return y;
}

void test('GroupNorm and swish on our kernels: float64 values inside padded maps, the border untouched', () => {
  for (const [size, C, swish, offset] of [
    [5, 32, false, 0],
    [9, 64, true, 3],
    [40, 128, true, 100],
  ] as const) {
    const side = size + 2;
    const row = 4 * side * C;
    const mapBytes = side * row;
    const memory = new WebAssembly.Memory({
      initial: Math.ceil((2 * mapBytes + 4 * groupNormScratchFloats(C)) / 65536),
    });
    const heap = new Float32Array(memory.buffer);
    const x = fillNormal(new Float32Array(size * size * C), size, offset, 2);
    for (let r = 0; r < size; r++) heap.set(x.subarray(r * size * C, (r + 1) * size * C), ((r + 1) * side + 1) * C);
    const scale = fillNormal(new Float32Array(C), 1, 1, 0.3);
    const bias = fillNormal(new Float32Array(C), 2, 0, 0.3);
    const y0 = mapBytes;
    heap.fill(7, y0 / 4, (y0 + mapBytes) / 4);
    const module = new KernelModule();
    const norm = new OwnGroupNorm(module, memory, 2 * mapBytes, scale, bias, size, C, swish);
    module.build(memory);
    const interior = 4 * (side + 1) * C;
    norm.run(interior, row, y0 + interior, row);
    const want = reference(x, scale, bias, C, swish);
    let worst = 0;
    for (let r = 0; r < side; r++)
      for (let p = 0; p < side; p++)
        for (let c = 0; c < C; c++) {
          const got = heap[y0 / 4 + (r * side + p) * C + c]!;
          const inside = r >= 1 && r <= size && p >= 1 && p <= size;
          if (!inside) assert.equal(got, 7, 'the border is not written');
          else worst = Math.max(worst, Math.abs(got - want[((r - 1) * size + p - 1) * C + c]!));
        }
    assert.ok(worst < 1e-5, `${size}² × ${C}, offset ${offset}: largest error ${worst}`);
  }
});
