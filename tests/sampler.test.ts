/** The pure sampling core: super-conditioning, warper order and semantics, seeded randomness. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng } from '../src/core/rng.ts';
import { MAX_SEED } from '../src/core/seed.ts';
import {
  checkSamplingSettings,
  DEFAULT_SAMPLING,
  NonFiniteLogitsError,
  sampleFromLogits,
  sampleGuidedTokens,
  sampleNextTokens,
  superCondition,
  topKIndices,
} from '../src/pipeline/sampler.ts';
import type { SamplingSettings } from '../src/pipeline/sampler.ts';

void test('super-conditioning is uncond + s·(cond − uncond) on rows i and n + i, over image codes only', () => {
  // n = 2 images, vocab 4 (the last id is the start token, never sampled), 3 codes.
  const logits = Float32Array.from([1, 2, 3, 99, 0, 0, 1, 99, /* uncond */ 0, 1, 1, 99, 1, 1, 1, 99]);
  const combined = superCondition(logits, 2, 4, 3, 10);
  assert.deepEqual(Array.from(combined), [0 + 10 * 1, 1 + 10 * 1, 1 + 10 * 2, 1 - 10, 1 - 10, 1]);
});

void test('guided logits (mixed before the LM head, [n, vocab]) draw what the raw rows draw, from the same streams', () => {
  const [n, vocab, codes] = [3, 41, 40];
  const rng = createRng(7);
  const raw = Float32Array.from({ length: 2 * n * vocab }, () => Math.round(rng() * 80) / 8);
  for (const settings of [DEFAULT_SAMPLING, { ...DEFAULT_SAMPLING, topK: 0, topP: 0.8, conditionScale: 3 }]) {
    const combined = superCondition(raw, n, vocab, codes, settings.conditionScale);
    // As the decoder returns them: n rows of the whole vocab (the start token last, never drawn).
    const guided = new Float32Array(n * vocab).fill(1e4);
    for (let i = 0; i < n; i++) guided.set(combined.subarray(i * codes, (i + 1) * codes), i * vocab);
    for (let seed = 1; seed <= 5; seed++) {
      const streams = () => Array.from({ length: n }, (_, i) => createRng(seed, i));
      assert.deepEqual(
        sampleGuidedTokens(guided, n, vocab, codes, settings, streams()),
        sampleNextTokens(raw, n, vocab, codes, settings, streams()),
      );
    }
  }
});

void test('top-k keeps exactly k, ties to the lower index', () => {
  const values = Float32Array.from([0.5, 3, 3, -1, 2, 3]);
  assert.deepEqual(Array.from(topKIndices(values, 2)), [1, 2]);
  assert.deepEqual(Array.from(topKIndices(values, 4)), [1, 2, 5, 4]);
  const big = Float32Array.from({ length: 5000 }, (_, i) => Math.sin(i));
  const viaSort = Array.from(big.keys())
    .sort((a, b) => big[b]! - big[a]! || a - b)
    .slice(0, 2000);
  assert.deepEqual(Array.from(topKIndices(big, 2000)), viaSort);
  assert.deepEqual(Array.from(topKIndices(big, 50)), viaSort.slice(0, 50));
});

void test('top-k 1 is greedy whatever the seed', () => {
  const logits = Float32Array.from([0.1, 5, 4.9, 0]);
  for (let seed = 0; seed < 20; seed++) {
    assert.equal(sampleFromLogits(logits, { ...DEFAULT_SAMPLING, topK: 1 }, createRng(seed)), 1);
  }
});

void test('top-p keeps the smallest prefix reaching p', () => {
  // softmax of [ln 6, ln 3, ln 1] = [0.6, 0.3, 0.1]
  const logits = Float32Array.from([Math.log(6), Math.log(3), Math.log(1)]);
  const draws = (topP: number): Set<number> => {
    const rng = createRng(3);
    return new Set(
      Array.from({ length: 400 }, () => sampleFromLogits(logits, { ...DEFAULT_SAMPLING, topK: 0, topP }, rng)),
    );
  };
  assert.deepEqual(draws(0.5), new Set([0]));
  assert.deepEqual(draws(0.6), new Set([0]));
  assert.deepEqual(draws(0.85), new Set([0, 1]));
  assert.deepEqual(draws(1), new Set([0, 1, 2]));
});

void test('sampling follows the softmax; temperature sharpens it', () => {
  const logits = Float32Array.from([Math.log(3), 0]);
  const frequency = (temperature: number): number => {
    const rng = createRng(11);
    let zeros = 0;
    for (let i = 0; i < 20000; i++)
      zeros += sampleFromLogits(logits, { ...DEFAULT_SAMPLING, topK: 0, temperature }, rng) === 0 ? 1 : 0;
    return zeros / 20000;
  };
  assert.ok(Math.abs(frequency(1) - 0.75) < 0.015);
  assert.ok(Math.abs(frequency(0.5) - 0.9) < 0.015); // 3² : 1
});

void test('the seeded generator is reproducible and streams differ', () => {
  const a = createRng(42, 0);
  const b = createRng(42, 0);
  const c = createRng(42, 1);
  const xs = Array.from({ length: 5 }, a);
  assert.deepEqual(xs, Array.from({ length: 5 }, b));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, c));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  assert.notDeepEqual(Array.from({ length: 5 }, createRng(MAX_SEED)), Array.from({ length: 5 }, createRng(0)));
});

void test('sampleNextTokens never picks a non-image id', () => {
  const vocab = 6;
  const logits = Float32Array.from([0, 0, 0, 0, 0, 50, /* uncond */ 0, 0, 0, 0, 0, 50]);
  const rngs = [createRng(1)];
  for (let i = 0; i < 50; i++)
    assert.ok(sampleNextTokens(logits, 1, vocab, 5, { ...DEFAULT_SAMPLING, topK: 0 }, rngs)[0]! < 5);
});

void test('bad settings are refused with a clear message', () => {
  assert.throws(() => checkSamplingSettings({ ...DEFAULT_SAMPLING, topP: 0 }), /top-p/);
  assert.throws(() => checkSamplingSettings({ ...DEFAULT_SAMPLING, temperature: 0 }), /temperature/);
  assert.throws(() => checkSamplingSettings({ ...DEFAULT_SAMPLING, topK: 1.5 }), /top-k/);
  assert.throws(() => checkSamplingSettings({ ...DEFAULT_SAMPLING, conditionScale: Number.NaN }), /condition scale/);
});

/** The same warpers by brute force: sort everything, cut, walk. The fast paths must draw exactly the same. */
function bruteForceSample(logits: Float32Array, s: SamplingSettings, rng: () => number): number {
  const unfiltered = (s.topK === 0 || s.topK >= logits.length) && s.topP >= 1;
  // With nothing filtered the inverse-CDF walk goes in index order; otherwise over candidates, largest first.
  const order = Array.from(logits.keys()).sort((a, b) => (unfiltered ? a - b : logits[b]! - logits[a]! || a - b));
  const k = s.topK > 0 ? Math.min(s.topK, order.length) : order.length;
  const kept = order.slice(0, k);
  const max = Math.max(...kept.map((j) => logits[j]!));
  const weights = kept.map((j) => Math.exp((logits[j]! - max) / s.temperature));
  let total = weights.reduce((a, b) => a + b, 0);
  let count = kept.length;
  if (s.topP < 1) {
    let cumulative = 0;
    count = kept.findIndex((_, i) => (cumulative += weights[i]! / total) >= s.topP) + 1 || kept.length;
    total = weights.slice(0, count).reduce((a, b) => a + b, 0);
  }
  let target = rng() * total;
  for (let i = 0; i < count; i++) if ((target -= weights[i]!) < 0) return kept[i]!;
  return kept[count - 1]!;
}

void test('fast sampling paths draw what the brute-force definition draws', () => {
  const logits = fillLogits(16384, 5);
  const cases: SamplingSettings[] = [
    { ...DEFAULT_SAMPLING, topK: 0, topP: 1 },
    { ...DEFAULT_SAMPLING, topK: 0, topP: 0.9 },
    { ...DEFAULT_SAMPLING, topK: 4000, topP: 0.95, temperature: 0.7 },
    { ...DEFAULT_SAMPLING, topK: 2000, topP: 1, temperature: 1.5 },
    { ...DEFAULT_SAMPLING, topK: 50, topP: 0.8 },
  ];
  for (const settings of cases) {
    for (let seed = 0; seed < 5; seed++) {
      assert.equal(
        sampleFromLogits(logits, settings, createRng(seed)),
        bruteForceSample(logits, settings, createRng(seed)),
        JSON.stringify(settings),
      );
    }
  }
});

function fillLogits(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  // Coarse values make ties at the cut-offs likely.
  return Float32Array.from({ length: n }, () => Math.round(rng() * 40) / 4);
}

void test('non-finite logits are an error naming image and code, not a silent last code', () => {
  // n = 1 image, vocab 4 (3 codes + the start token).
  const withNaN = Float32Array.from([0, NaN, 1, 0, /* uncond */ 0, 0, 0, 0]);
  assert.throws(
    () => sampleNextTokens(withNaN, 1, 4, 3, DEFAULT_SAMPLING, [createRng(1)]),
    (error: unknown) => {
      assert.ok(error instanceof NonFiniteLogitsError);
      assert.match(error.message, /the decoder returned NaN for code 1 of image 0 \(prompt row\).*Re-export the model/);
      return true;
    },
  );
  const unconditional = Float32Array.from([0, 0, 0, 0, /* uncond */ 0, 0, Infinity, 0]);
  assert.throws(
    () => sampleNextTokens(unconditional, 1, 4, 3, DEFAULT_SAMPLING, [createRng(1)]),
    /returned Infinity for code 2 of image 0 \(unconditional row\)/,
  );
  // Finite logits, but a scale that overflows float32 once applied.
  const finite = Float32Array.from([3e38, 0, 0, 0, /* uncond */ -3e38, 0, 0, 0]);
  assert.throws(
    () => sampleNextTokens(finite, 1, 4, 3, { ...DEFAULT_SAMPLING, conditionScale: 10 }, [createRng(1)]),
    /logit 0 is Infinity.*condition scale 10 is too large/,
  );
  for (const settings of [
    DEFAULT_SAMPLING,
    { ...DEFAULT_SAMPLING, topK: 0 },
    { ...DEFAULT_SAMPLING, topK: 0, topP: 0.9 },
  ]) {
    assert.throws(() => sampleFromLogits(Float32Array.from([1, 2, NaN]), settings, createRng(0)), NonFiniteLogitsError);
  }
});
