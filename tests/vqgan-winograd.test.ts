/**
 * The VQGAN's WASM file (`vqgan_winograd.onnx`) writes 3×3 convolutions as Winograd F(6×6, 3×3) on maps of 64
 * pixels and more and F(4×4, 3×3) on smaller ones (docs/model-format.md#vqgan-blocks): the same decoder as plain
 * Conv nodes up to float32 rounding, for every dtype the exporter writes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VQGAN_INPUTS, VQGAN_OUTPUTS } from '../src/model/graph-io.ts';
import { buildVqganGraph } from '../tools/exporter/graphs/vqgan.ts';
import type { ConvAlgorithm } from '../tools/exporter/graphs/vqgan.ts';
import type { ExportDtype } from '../tools/exporter/graphs/precision.ts';
import { vqganLayout } from '../tools/exporter/layout.ts';
import { buildSession, int64, smallVqganConfig } from './helpers/graphs.ts';
import { psnr } from '../tools/image-psnr.ts';
import { randomParams } from './reference/memory-params.ts';

// Two levels (maps of 8 and 16), attention, a channel change with nin_shortcut: every conv kind.
// 32 channels: GroupNorm's 32 groups must divide every level's channels (config.ts validates it).
const config = smallVqganConfig(32, 1);
const params = randomParams(vqganLayout(config), 11);
const codes = Array.from({ length: 2 * 64 }, (_, i) => (i * 37 + (i >> 3)) % 64);

async function decode(dtype: ExportDtype, algorithm: ConvAlgorithm): Promise<Float32Array> {
  const session = await buildSession('vqgan', (b) => buildVqganGraph(b, params, config, dtype, algorithm));
  try {
    const out = await session.run({ [VQGAN_INPUTS.codes]: int64(codes, [2, 64]) });
    return out[VQGAN_OUTPUTS.pixels]!.data as Float32Array;
  } finally {
    await session.release();
  }
}

for (const dtype of ['fp32', 'q8'] as const) {
  // F(6×6) pads both maps (8 and 16) to whole tiles and crops back; `winograd` is what the export ships.
  void test(`${dtype}: Winograd F(2×2), F(4×4), F(6×6) decode the images of direct convolutions (PSNR ≥ 40 dB)`, async (t) => {
    const direct = await decode(dtype, 'direct');
    for (const algorithm of ['winograd-2', 'winograd-4', 'winograd-6', 'winograd'] as const) {
      const db = psnr(await decode(dtype, algorithm), direct);
      t.diagnostic(`${algorithm}: ${db.toFixed(1)} dB`);
      assert.ok(db >= 40, `${algorithm}: ${db.toFixed(1)} dB`);
    }
  });
}

void test('the Conv graph (`vqgan.onnx`, for native and WebGPU) has one Conv node per convolution', async () => {
  const session = await buildSession('vqgan', (b) => {
    const ops: string[] = [];
    const opMulti = b.opMulti.bind(b);
    b.opMulti = (op, ...rest) => {
      ops.push(op);
      return opMulti(op, ...rest);
    };
    buildVqganGraph(b, params, config, 'fp32', 'direct');
    // Every convolution, 3×3 and 1×1, is one Conv node.
    const kernels = [...params.tensors].filter(([path]) => path.endsWith('/kernel') && !path.includes('encoder'));
    assert.ok(kernels.some(([, t]) => t.shape[0] === 3));
    assert.equal(ops.filter((op) => op === 'Conv').length, kernels.length);
  });
  await session.release();
});
