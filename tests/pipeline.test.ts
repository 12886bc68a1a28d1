/** The whole pipeline on the tiny exported model, through onnxruntime-web's WASM backend in Node. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { GenerationCancelledError } from '../src/pipeline/errors.ts';
import { pixelsToRgba } from '../src/pipeline/images.ts';
import { sessionOptionsFor } from '../src/pipeline/session-options.ts';
import { DEFAULT_SAMPLING } from '../src/pipeline/sampler.ts';
import type { SamplingSettings } from '../src/pipeline/sampler.ts';
import { BpeTokenizer } from '../src/text/bpe-tokenizer.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { tinyModel } from './helpers/fixtures.ts';
import { ort } from './helpers/graphs.ts';
import { loadDalle } from '../src/pipeline/load-dalle.ts';

const dir = tinyModel('fp32');
const source = openModelFolder(dir);
const { engine } = await loadDalle(ort, source, sessionOptionsFor('wasm', source.manifest));
const tokenizer = BpeTokenizer.fromFiles(
  readFileSync(join(dir, 'vocab.json'), 'utf8'),
  readFileSync(join(dir, 'merges.txt'), 'utf8'),
);

function request(
  prompt: string,
  seed: number,
  count = 2,
  sampling: SamplingSettings = DEFAULT_SAMPLING,
  signal?: AbortSignal,
) {
  return {
    prompt: tokenizer.encodePrompt(prompt),
    unconditional: tokenizer.encodePrompt(''),
    count,
    seed,
    sampling,
    ...(signal ? { signal } : {}),
  };
}

void test('the same prompt, settings and seed give the same tokens; another seed does not', async () => {
  const a = await engine.generateTokens(request(' a red apple', 1));
  const b = await engine.generateTokens(request(' a red apple', 1));
  const c = await engine.generateTokens(request(' a red apple', 2));
  assert.equal(a.length, 2 * 256);
  assert.ok(a.every((code) => code >= 0 && code < 16384));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

void test('an image does not depend on how many others share its batch', async () => {
  const two = await engine.generateTokens(request(' a red apple', 9, 2));
  const one = await engine.generateTokens(request(' a red apple', 9, 1));
  assert.deepEqual(one, two.subarray(0, 256));
});

void test('top-k 1 is deterministic across seeds and the prompt changes the result', async () => {
  const greedy = { ...DEFAULT_SAMPLING, topK: 1 };
  const a = await engine.generateTokens(request(' a red apple', 1, 1, greedy));
  const b = await engine.generateTokens(request(' a red apple', 99, 1, greedy));
  const c = await engine.generateTokens(request(' a blue car', 1, 1, greedy));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

void test('cancel stops within one step', async () => {
  const controller = new AbortController();
  let steps = 0;
  const run = engine.generateTokens({
    ...request(' a red apple', 1, 1, DEFAULT_SAMPLING, controller.signal),
    onStep: (step) => {
      steps = step + 1;
      if (step === 9) controller.abort();
    },
  });
  await assert.rejects(run, GenerationCancelledError);
  assert.equal(steps, 10);
});

void test('VQGAN decodes codes into 256×256 RGBA images', async () => {
  const codes = await engine.generateTokens(request(' a red apple', 3, 2));
  const pixels = await engine.decodeImages(codes, 2);
  const first = pixelsToRgba(pixels, 0, 256);
  const second = pixelsToRgba(pixels, 1, 256);
  assert.equal(first.length, 256 * 256 * 4);
  assert.ok(new Set(first).size > 10, 'the image is not flat');
  assert.notDeepEqual(first, second);
  assert.ok(engine.decodeMsPerImage! > 0, 'the decode is timed, for the preview budget of later drawings');
});

for (const dtype of ['q8', 'q4', 'fp16'] as const) {
  void test(`the ${dtype} export generates through onnxruntime-web`, async () => {
    const quantized = openModelFolder(tinyModel(dtype));
    const { engine: q } = await loadDalle(ort, quantized, sessionOptionsFor('wasm', quantized.manifest));
    const codes = await q.generateTokens(request(' a red apple', 1, 1, { ...DEFAULT_SAMPLING, topK: 1 }));
    assert.ok(codes.every((code) => code >= 0 && code < 16384));
    assert.equal((await q.decodeImages(codes, 1)).length, 3 * 256 * 256);
  });
}
