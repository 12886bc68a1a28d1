/**
 * Sampling settings that follow the active model: null resolves to the catalog entry's suggestion, else dalle-mini's
 * default; a visitor's number wins; drawing again keeps following where that draws the same; settings stored before
 * this change forget values equal to the old default.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SAMPLING } from '../src/pipeline/sampler.ts';
import {
  activeModel,
  choiceFor,
  effectiveSampling,
  FOLLOW_MODEL,
  forgetOldDefaults,
  samplingSource,
} from '../src/ui/sampling-choice.ts';
import { readSettings } from '../src/ui/settings.ts';
import { migrateStoredSettings, SETTINGS_VERSION } from '../src/ui/store.ts';

const DEMO = { name: 'Demo model', sampling: { conditionScale: 3 } };
const PLAIN = { name: 'DALL·E Mini', sampling: {} };

void test("null follows the model's suggestion, else the default; a chosen number wins", () => {
  assert.deepEqual(effectiveSampling(FOLLOW_MODEL, undefined), DEFAULT_SAMPLING);
  assert.deepEqual(effectiveSampling(FOLLOW_MODEL, PLAIN), DEFAULT_SAMPLING);
  assert.deepEqual(effectiveSampling(FOLLOW_MODEL, DEMO), { ...DEFAULT_SAMPLING, conditionScale: 3 });
  const chosen = { ...FOLLOW_MODEL, conditionScale: 7, topK: 0 };
  assert.deepEqual(effectiveSampling(chosen, DEMO), { ...DEFAULT_SAMPLING, conditionScale: 7, topK: 0 });
  assert.equal(samplingSource(chosen, DEMO, 'conditionScale'), 'chosen');
  assert.equal(samplingSource(FOLLOW_MODEL, DEMO, 'conditionScale'), 'model');
  assert.equal(samplingSource(FOLLOW_MODEL, DEMO, 'topK'), 'default');
  assert.equal(samplingSource(FOLLOW_MODEL, undefined, 'conditionScale'), 'default');
});

void test('the active model is the catalog entry picked, if any', () => {
  const catalog = [{ id: 'demo', ...DEMO }] as unknown as Parameters<typeof activeModel>[0]['catalog'];
  assert.equal(activeModel({ catalog, selectedModel: 'demo' })?.name, 'Demo model');
  assert.equal(activeModel({ catalog, selectedModel: 'other' }), undefined);
  assert.equal(activeModel({ catalog, selectedModel: null }), undefined);
});

void test('drawing again keeps following the model where that draws the same, and pins the rest', () => {
  const drawn = { ...DEFAULT_SAMPLING, conditionScale: 3, topK: 20 };
  assert.deepEqual(choiceFor(drawn, FOLLOW_MODEL, DEMO), { ...FOLLOW_MODEL, topK: 20 });
  assert.deepEqual(choiceFor(drawn, FOLLOW_MODEL, PLAIN), { ...FOLLOW_MODEL, conditionScale: 3, topK: 20 });
  const chosen = { ...FOLLOW_MODEL, conditionScale: 5, temperature: 1 };
  assert.deepEqual(choiceFor(drawn, chosen, DEMO), { ...FOLLOW_MODEL, conditionScale: 3, topK: 20, temperature: 1 });
  for (const model of [DEMO, PLAIN, undefined])
    assert.deepEqual(effectiveSampling(choiceFor(drawn, chosen, model), model), drawn);
});

void test('settings stored before version 2: values equal to the old default follow the model, others stay', () => {
  assert.equal(SETTINGS_VERSION, 2);
  const old = { count: 4, conditionScale: 10, topK: 50, topP: 0.9, temperature: 1, rank: true };
  const migrated = migrateStoredSettings({ settings: old }, 1) as { settings: unknown };
  // A stored 10 cannot tell "never edited" from "typed 10": it is taken as never edited.
  assert.deepEqual(readSettings(migrated.settings), {
    ...readSettings(old),
    conditionScale: null,
    topK: null,
    topP: 0.9,
    temperature: null,
  });
  const current = { settings: { ...old, topP: null } };
  assert.equal(migrateStoredSettings(current, 2), current, 'the current version is read as it is');
  for (const junk of [null, 'x', 42]) assert.equal(forgetOldDefaults(junk), junk);
  assert.equal(migrateStoredSettings(null, 1), null);
});
