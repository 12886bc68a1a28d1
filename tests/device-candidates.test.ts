/**
 * Sampling from the GPU's candidates (src/pipeline/device-candidates.ts): with the shader's selection redone in
 * float32 on the CPU, every image draws the code sampleNextTokens draws from the whole logits, and whatever the
 * candidates cannot decide for certain goes back to the CPU without touching the random streams; and the engine uses
 * them. The shader itself runs in e2e/gpu-shaders.spec.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng } from '../src/core/rng.ts';
import {
  MAX_DEVICE_TOP_K,
  candidateLayout,
  keyValue,
  orderKey,
  sampleNextTokensOnDevice,
} from '../src/pipeline/device-candidates.ts';
import type { CandidateLayout, CandidateSelector } from '../src/pipeline/device-candidates.ts';
import { DalleEngine } from '../src/pipeline/engine.ts';
import { loadDalle } from '../src/pipeline/load-dalle.ts';
import { sessionOptionsFor } from '../src/pipeline/session-options.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { tinyModel } from './helpers/fixtures.ts';
import { ort } from './helpers/graphs.ts';
import type { Tensor } from '../src/pipeline/runtime.ts';
import { DEFAULT_SAMPLING, sampleNextTokens } from '../src/pipeline/sampler.ts';
import { candidateCases, layoutOf, selectLikeTheShader } from './helpers/candidate-cases.ts';
import type { CandidateCase } from './helpers/candidate-cases.ts';

/**
 * Per seed 0 … seeds − 1: the codes drawn from `words` (null where they did not serve) and, where they served, the
 * codes sampleNextTokens draws from the whole logits with the same streams.
 */
async function bothWays(c: CandidateCase, words: Uint32Array, layout: CandidateLayout, seeds: number) {
  const onDevice: (number[] | null)[] = [];
  const onCpu: (number[] | null)[] = [];
  for (let seed = 0; seed < seeds; seed++) {
    const streams = () => Array.from({ length: c.images }, (_, i) => createRng(seed, i));
    const rngs = streams();
    const codes = await sampleNextTokensOnDevice(() => Promise.resolve(words), {} as Tensor, layout, c.settings, rngs);
    onDevice.push(codes && Array.from(codes));
    onCpu.push(codes && Array.from(sampleNextTokens(c.logits, c.images, c.vocab, c.vocab - 1, c.settings, streams())));
    // One draw per image when the candidates serve; none when they do not, so the CPU draws what it would have.
    const fresh = streams();
    if (codes) for (const r of fresh) r();
    assert.deepEqual(
      rngs.map((r) => r()),
      fresh.map((r) => r()),
    );
  }
  return { onDevice, onCpu };
}

for (const c of candidateCases()) {
  void test(`candidates ${c.serves ? 'draw the codes of the whole logits' : 'go back to the CPU'}: ${c.name}`, async () => {
    const layout = layoutOf(c);
    const { onDevice, onCpu } = await bothWays(c, selectLikeTheShader(c.logits, layout), layout, 12);
    assert.ok(onDevice.every((codes) => (codes !== null) === c.serves));
    assert.deepEqual(onDevice, onCpu);
  });
}

void test('a GPU that rounds worse (values off by up to 4 float32 steps) still gives the CPU codes or none', async () => {
  // Coarse logits (steps of 1/64): many ties and near-ties, so the noise reorders the cut.
  const cases = candidateCases()
    .filter((c) => c.serves)
    .map((c) => ({ ...c, logits: c.logits.map((v) => Math.round(v * 64) / 64) }));
  // And crowded tops: 17 codes within 6 float32 steps of 5 (scale 1: their values exactly), the rest far below. The
  // noise can push one of the true top 5 below 13 others; without the margin check some of these draw other codes.
  for (let trial = 0; trial < 40; trial++) {
    const crowded = new Float32Array(2 * 65).fill(-3);
    const rng = createRng(trial, 99);
    for (let j = 0; j < 17; j++) [crowded[j], crowded[65 + j]] = [5 + Math.floor(rng() * 6) * 2 ** -21, 5];
    const settings = { ...DEFAULT_SAMPLING, conditionScale: 1, topK: 5 };
    cases.push({ name: `crowded top ${trial}`, images: 1, vocab: 65, settings, serves: false, logits: crowded });
  }
  for (const [trial, c] of cases.entries()) {
    const layout = layoutOf(c);
    const words = selectLikeTheShader(c.logits, layout, 4, trial);
    const { onDevice, onCpu } = await bothWays(c, words, layout, 6);
    assert.deepEqual(onDevice, onCpu, c.name);
  }
});

void test('a NaN logit goes back to the CPU, which names it', async () => {
  const c = candidateCases().find((c) => c.name.includes('NaN'))!;
  const layout = layoutOf(c);
  const words = selectLikeTheShader(c.logits, layout);
  const rngs = [createRng(0)];
  assert.equal(
    await sampleNextTokensOnDevice(() => Promise.resolve(words), {} as Tensor, layout, c.settings, rngs),
    null,
  );
  assert.throws(() => sampleNextTokens(c.logits, 1, c.vocab, c.vocab - 1, c.settings, rngs), /code 17 of image 0/);
});

void test('a selector that cannot read the logits (not on its GPU) leaves the step to the CPU', async () => {
  const c = candidateCases()[1]!;
  const rngs = [createRng(0), createRng(0, 1)];
  assert.equal(
    await sampleNextTokensOnDevice(() => Promise.resolve(null), {} as Tensor, layoutOf(c), c.settings, rngs),
    null,
  );
});

void test('only top-k 1 … 256 (below the code count) is cut down on the device', () => {
  const layout = (topK: number) => candidateLayout(2, 16385, 16384, { ...DEFAULT_SAMPLING, topK });
  assert.equal(layout(0), null);
  assert.equal(layout(MAX_DEVICE_TOP_K + 1), null);
  assert.equal(candidateLayout(1, 65, 64, { ...DEFAULT_SAMPLING, topK: 64 }), null);
  assert.deepEqual(layout(50), {
    images: 2,
    vocab: 16385,
    codeCount: 16384,
    conditionScale: 10,
    keep: 58,
    capacity: 114,
    limit: 2 ** 120 / 21,
  });
  assert.equal(candidateLayout(1, 65, 64, { ...DEFAULT_SAMPLING, topK: 60 })?.capacity, 64);
});

void test('order keys sort like the floats and give them back', () => {
  const floats = [-Infinity, -3.4e38, -1, -1e-45, -0, 0, 1e-45, 1, 3.4e38, Infinity].map(Math.fround);
  const keys = floats.map(orderKey);
  for (let i = 1; i < keys.length; i++) assert.ok(keys[i - 1]! < keys[i]!, `${floats[i - 1]} < ${floats[i]}`);
  for (const [i, key] of keys.entries()) assert.ok(Object.is(keyValue(key), floats[i]));
});

/**
 * The engine's wiring, on the tiny model with a selector that runs the shader's selection on the CPU: every step
 * sampled from the candidates, the same codes as sampling from the whole logits, and each step's logits freed once
 * whether the candidates served or not.
 */
void test('an engine with a candidate selector draws the codes of one without, and frees every logits tensor', async () => {
  const source = openModelFolder(tinyModel('fp32'));
  const loaded = await loadDalle(ort, source, sessionOptionsFor('wasm', source.manifest));
  try {
    const request = {
      prompt: loaded.text.encode('a red apple', 1),
      unconditional: loaded.text.unconditional,
      count: 2,
      seed: 7,
      sampling: DEFAULT_SAMPLING,
    };
    const expected = await loaded.engine.generateTokens(request);
    for (const serve of [true, false]) {
      let disposed = 0;
      let seen = 0;
      const select: CandidateSelector = async (logits, layout) => {
        seen++;
        const dispose = logits.dispose.bind(logits);
        logits.dispose = () => void (disposed++, dispose());
        return serve ? selectLikeTheShader((await logits.getData()) as Float32Array, layout) : null;
      };
      const engine = new DalleEngine(ort, loaded.engine.sessions, source.manifest, {
        cacheOnDevice: true,
        candidates: select,
      });
      assert.deepEqual(await engine.generateTokens(request), expected, serve ? 'served' : 'fallback');
      const S = source.manifest.dalleBart.imageLength;
      assert.equal(engine.stepsSampledOnDevice, serve ? S : 0);
      assert.deepEqual([seen, disposed], [S, S]);
    }
  } finally {
    await loaded.dispose();
  }
});
