/** Batching, previews and batch sizing around the engine. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { chooseBatchSizes, decoderBytesPerImage, decoderSharedBytes } from '../src/pipeline/batch-size.ts';
import {
  generateImages,
  planBatches,
  PREVIEW_SHARE,
  PREVIEW_SHARE_WITH_MOSAIC,
  PreviewBudget,
  previewCodes,
  previewShare,
} from '../src/pipeline/generate-images.ts';
import { GenerationCancelledError } from '../src/pipeline/errors.ts';
import { sessionOptionsFor } from '../src/pipeline/session-options.ts';
import { DEFAULT_SAMPLING } from '../src/pipeline/sampler.ts';
import { BpeTokenizer } from '../src/text/bpe-tokenizer.ts';
import type { ModelManifest } from '../src/model/manifest.ts';
import { PRESET_SHAPES } from '../tools/exporter/presets.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { tinyModel } from './helpers/fixtures.ts';
import { ort } from './helpers/graphs.ts';
import { loadDalle } from '../src/pipeline/load-dalle.ts';
import type { DalleEngine } from '../src/pipeline/engine.ts';

void test('batches are as even as possible and never above the limit', () => {
  assert.deepEqual(planBatches(9, 4), [3, 3, 3]);
  assert.deepEqual(planBatches(10, 4), [4, 3, 3]);
  assert.deepEqual(planBatches(2, 16), [2]);
  assert.deepEqual(planBatches(5, 1), [1, 1, 1, 1, 1]);
});

void test('preview codes keep sampled slots and repeat the last full row below', () => {
  const codes = Int32Array.from([1, 2, 3, 4, 5, -1, -1, -1, -1]);
  assert.deepEqual(Array.from(previewCodes(codes, 5, 3)), [1, 2, 3, 4, 5, 3, 1, 2, 3]);
  assert.deepEqual(Array.from(previewCodes(Int32Array.from([7, -1, -1, -1]), 1, 2)), [7, 0, 0, 0]);
});

void test('batch sizes follow memory: mega fits fewer images than mini, fp16 more than fp32', () => {
  const limits = { memoryBytes: 2 ** 30, maxBufferBytes: 2 ** 27 };
  const mini = chooseBatchSizes(manifest('mini', 'float32'), limits, 'webgpu');
  const mega = chooseBatchSizes(manifest('mega', 'float32'), limits, 'webgpu');
  assert.ok(mega.decoder < mini.decoder, `${mega.decoder} < ${mini.decoder}`);
  assert.ok(
    decoderBytesPerImage(manifest('mini', 'float16')) < 0.51 * decoderBytesPerImage(manifest('mini', 'float32')),
  );
  assert.equal(mini.vqgan, 4, 'a 128-channel 256×256 map is 32 MiB: four fit a 128 MiB buffer');
  assert.deepEqual(chooseBatchSizes(manifest('mega', 'float32'), { memoryBytes: 1, maxBufferBytes: 1 }, 'webgpu'), {
    decoder: 1,
    vqgan: 1,
  });
});

void test('the decoder batch counts the cache once where WebGPU writes slots into one set, the cross tensors once', () => {
  const limits = { memoryBytes: 2 ** 31, maxBufferBytes: 2 ** 30 };
  const mega = manifest('mega', 'float32');
  const slotWrites = {
    ...mega,
    graphs: { ...mega.graphs, decoder: { ...mega.graphs.decoder, hostCacheFile: 'h.onnx' } },
  };
  const cache = decoderBytesPerImage(mega, 2) - decoderBytesPerImage(mega, 1);
  // mega float32: 192 MiB of cache per image (cond + uncond rows), 48 MiB of cross keys/values for the whole batch.
  assert.equal(cache, 2 * 24 * 2 * 2048 * 256 * 4);
  assert.equal(decoderSharedBytes(mega), 2 * 24 * 2 * 2048 * 64 * 4);
  const fits = (m: ModelManifest, runtime: 'wasm' | 'webgpu' | 'native'): number =>
    chooseBatchSizes(m, limits, runtime).decoder;
  assert.equal(fits(slotWrites, 'webgpu'), 10, 'one set: (2 GiB − 48 MiB) / 192 MiB');
  assert.equal(fits(mega, 'webgpu'), 5, 'swapped sets (no host-cache graph): two copies');
  assert.equal(fits(slotWrites, 'wasm'), 5, 'WASM copies the cache into its heap every run');
  assert.equal(fits(slotWrites, 'native'), 5, 'the host cache grows by copying');
});

function manifest(preset: 'mini' | 'mega', compute: 'float32' | 'float16'): ModelManifest {
  return {
    dalleBart: PRESET_SHAPES[preset].dalleBart,
    vqgan: PRESET_SHAPES[preset].vqgan,
    graphs: { decoder: { compute }, vqgan: {} },
  } as unknown as ModelManifest;
}

/** The tiny fp32 model on WASM, with its tokenizer. */
async function loadTiny(): Promise<{ engine: DalleEngine; tokenizer: BpeTokenizer }> {
  const dir = tinyModel('fp32');
  const source = openModelFolder(dir);
  const { engine } = await loadDalle(ort, source, sessionOptionsFor('wasm', source.manifest));
  const tokenizer = BpeTokenizer.fromFiles(
    readFileSync(join(dir, 'vocab.json'), 'utf8'),
    readFileSync(join(dir, 'merges.txt'), 'utf8'),
  );
  return { engine, tokenizer };
}

void test('batched generation equals one batch, and previews and codes arrive as the image forms', async () => {
  const { engine, tokenizer } = await loadTiny();
  const base = {
    prompt: tokenizer.encodePrompt(' a red apple'),
    unconditional: tokenizer.encodePrompt(''),
    count: 3,
    seed: 4,
    sampling: DEFAULT_SAMPLING,
  };
  const previews: number[] = [];
  const sampled: number[][] = [];
  let lastStep = 0;
  const split = await generateImages(
    engine,
    { ...base, batch: { decoder: 2, vqgan: 1 }, previewEvery: 64, previewShare: Infinity },
    {
      onPreview: (first, images) => previews.push(first, images.length),
      onCodes: (first, slot, codes) => sampled.push([first, slot, ...codes]),
      onProgress: ({ step, totalSteps }) => {
        assert.equal(step, lastStep + 1);
        assert.equal(totalSteps, 512);
        lastStep = step;
      },
    },
  );
  const whole = await generateImages(engine, { ...base, batch: { decoder: 3, vqgan: 3 } });
  assert.deepEqual(split.tokens, whole.tokens);
  assert.deepEqual(split.images, whole.images);
  assert.equal(lastStep, 512);
  // Steps 64, 128, 192 of each batch; batch 0 holds images 0–1, batch 1 image 2.
  assert.deepEqual(previews, [0, 2, 0, 2, 0, 2, 2, 1, 2, 1, 2, 1]);
  // Each step but a batch's last: the code every image of the batch sampled at that slot.
  const [t0, t1, t2] = split.tokens;
  assert.deepEqual(sampled, [
    ...Array.from({ length: 255 }, (_, slot) => [0, slot, t0![slot]!, t1![slot]!]),
    ...Array.from({ length: 255 }, (_, slot) => [2, slot, t2![slot]!]),
  ]);
});

void test('a cancel that arrives while the last images are decoded cancels the drawing', async () => {
  const { engine, tokenizer } = await loadTiny();
  const cancel = new AbortController();
  // The worker reads a cancel message between awaits: here, during the final VQGAN decode.
  const decodeImages = engine.decodeImages.bind(engine);
  engine.decodeImages = async (codes, n) => {
    const pixels = await decodeImages(codes, n);
    cancel.abort();
    return pixels;
  };
  const request = {
    prompt: tokenizer.encodePrompt(' a red apple'),
    unconditional: tokenizer.encodePrompt(''),
    count: 1,
    seed: 4,
    sampling: DEFAULT_SAMPLING,
    batch: { decoder: 1, vqgan: 1 },
    signal: cancel.signal,
  };
  await assert.rejects(generateImages(engine, request), GenerationCancelledError);
});

void test('the preview budget skips previews that would take more than their share', () => {
  const budget = new PreviewBudget(0.25);
  assert.equal(budget.due(9), true, 'the first preview is due when no decode has been timed');
  budget.decoded(60_000, 1);
  assert.equal(budget.due(1), false, 'a minute-long preview is not repeated right away');
  const cheap = new PreviewBudget(0.25);
  cheap.decoded(0, 9);
  assert.equal(cheap.due(9), true);
  assert.equal(new PreviewBudget(0.25, 60_000).due(1), false, 'an earlier decode that took a minute per image');
  assert.equal(new PreviewBudget(0.25, 0).due(9), true);
});

void test('previews take a smaller share of the drawing when a mosaic shows every step', () => {
  const mosaic = { onCodes: () => undefined };
  assert.equal(previewShare({}, {}), PREVIEW_SHARE);
  assert.equal(previewShare({}, mosaic), PREVIEW_SHARE_WITH_MOSAIC);
  assert.ok(PREVIEW_SHARE_WITH_MOSAIC < PREVIEW_SHARE);
  assert.equal(previewShare({ previewShare: Infinity }, mosaic), Infinity, 'the request decides when it says');
});
