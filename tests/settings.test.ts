/**
 * The drawing settings: dalle-mini's defaults (the sampling settings following the model), and stored values read
 * back field by field, bad ones replaced by defaults.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SAMPLING, checkSamplingSettings } from '../src/pipeline/sampler.ts';
import { effectiveSampling, FOLLOW_MODEL } from '../src/ui/sampling-choice.ts';
import { DEFAULT_SETTINGS, NUMBER_RULES, randomSeed, readSettings } from '../src/ui/settings.ts';
import { isValidSeed } from '../src/core/seed.ts';

void test("the defaults are dalle-mini's and the sampler accepts them and every limit", () => {
  assert.deepEqual(effectiveSampling(DEFAULT_SETTINGS, undefined), DEFAULT_SAMPLING);
  assert.equal(DEFAULT_SETTINGS.seedLocked, false);
  assert.equal(DEFAULT_SETTINGS.backend, 'auto');
  for (const bound of ['min', 'max'] as const) {
    checkSamplingSettings({
      conditionScale: NUMBER_RULES.conditionScale[bound],
      topK: NUMBER_RULES.topK[bound],
      topP: NUMBER_RULES.topP[bound],
      temperature: NUMBER_RULES.temperature[bound],
    });
  }
});

void test('valid stored settings read back unchanged', () => {
  const stored = {
    count: 3,
    seedText: '4294967295',
    seedLocked: true,
    conditionScale: 3.5,
    topK: 0,
    topP: 0.9,
    temperature: 0.7,
    model: 'dalle-mini-q8',
    backend: 'wasm',
    rank: true,
    candidates: 32,
  };
  assert.deepEqual(readSettings(stored), stored);
  assert.equal(readSettings({ ...stored, rank: null }).rank, null, "null: the device's default");
  const following = readSettings({ ...stored, ...FOLLOW_MODEL });
  assert.deepEqual(following, { ...stored, ...FOLLOW_MODEL }, "null: the model's suggestion, else the default");
});

void test('a corrupt stored value falls back to the defaults, field by field', () => {
  for (const junk of [null, undefined, 'x', 42, [], { count: '9' }])
    assert.deepEqual(readSettings(junk), DEFAULT_SETTINGS);
  const read = readSettings({
    count: 10,
    seedText: '4294967296',
    seedLocked: 'yes',
    conditionScale: -1,
    topK: 1.5,
    topP: 0,
    temperature: Infinity,
    model: '../evil',
    backend: 'cuda',
    rank: 'on',
    candidates: 65,
    unknown: 1,
  });
  assert.deepEqual(read, DEFAULT_SETTINGS);
  assert.deepEqual(readSettings({ count: 2, topK: 'x' }), { ...DEFAULT_SETTINGS, count: 2 });
});

void test('a seed typed with spaces or leading zeros is kept as typed: the field drew with it, a reload keeps it', () => {
  for (const seedText of [' 42', '0042', '42 ']) assert.equal(readSettings({ seedText }).seedText, seedText);
  assert.equal(readSettings({ seedText: '00004294967296' }).seedText, DEFAULT_SETTINGS.seedText);
});

void test('random seeds are valid seeds', () => {
  for (let i = 0; i < 100; i++) assert.ok(isValidSeed(randomSeed()));
});
