/**
 * History records: checked when read back, newest first, bounded; the actions keep, reopen and delete drawings (memory
 * store).
 */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import type { Controller } from '../src/ui/controller.ts';
import { createHistoryActions } from '../src/ui/history/history-actions.ts';
import { memoryHistory } from '../src/ui/history/history-db.ts';
import { MAX_HISTORY, newestFirst, newRecord, overflow, readRecord, recordBytes } from '../src/ui/history/records.ts';
import { parseCatalog } from '../src/model/catalog.ts';
import { FOLLOW_MODEL } from '../src/ui/sampling-choice.ts';
import { INITIAL_STATE, setSettings, useAppStore } from '../src/ui/store.ts';
import type { Drawing } from '../src/ui/store.ts';

const DRAWING: Drawing = {
  prompt: 'a red apple',
  seed: 42,
  count: 2,
  sampling: { conditionScale: 10, topK: 50, topP: 1, temperature: 1 },
  model: 'demo',
  modelId: 'random-tiny-seed1',
};
const CATALOG_ENTRY = {
  name: 'Demo',
  description: 'd',
  url: 'demo/',
  dtype: 'fp32',
  requires: { webgpu: false, shaderF16: false, memoryBytes: 0 },
};
const THUMB = 'data:image/jpeg;base64,/9j/4AAQ';

beforeEach(() => useAppStore.setState(INITIAL_STATE, true));

void test('a record survives the trip through storage; anything else is left out', () => {
  const record = newRecord(DRAWING, 1_700_000_000_000, [THUMB, THUMB]);
  assert.deepEqual(readRecord(JSON.parse(JSON.stringify(record))), record);
  const ranked = newRecord({ ...DRAWING, candidates: 16 }, 1_700_000_000_000, [THUMB]);
  assert.deepEqual(readRecord(JSON.parse(JSON.stringify(ranked))), ranked);
  assert.ok(recordBytes(record) > 0);
  const bad: unknown[] = [
    null,
    'x',
    { ...record, seed: -1 },
    { ...record, seed: 2 ** 32 },
    { ...record, count: 10 },
    { ...record, prompt: ' ' },
    { ...record, sampling: { ...DRAWING.sampling, topP: 0 } },
    { ...record, thumbnails: ['javascript:alert(1)'] },
    { ...record, id: 'other' },
    { ...record, time: 'yesterday' },
    { ...record, candidates: 0 },
  ];
  for (const value of bad) assert.equal(readRecord(value), null, JSON.stringify(value).slice(0, 80));
});

void test('newest first, and only the newest MAX_HISTORY are kept', () => {
  const records = Array.from({ length: MAX_HISTORY + 3 }, (_, i) => newRecord(DRAWING, 1000 + i, []));
  const sorted = newestFirst(records);
  assert.equal(sorted[0]!.time, 1000 + MAX_HISTORY + 2);
  assert.deepEqual(
    overflow(records).sort(),
    records
      .slice(0, 3)
      .map((r) => r.id)
      .sort(),
  );
  assert.deepEqual(overflow(records.slice(0, 5)), []);
});

void test('actions: a finished drawing is kept, reopened with its seed and settings, deleted; memory with a notice', async () => {
  const draws: string[] = [];
  const controller = {
    selectModel: () => Promise.resolve(),
    draw: () => (draws.push(useAppStore.getState().settings.seedText), Promise.resolve()),
  } as unknown as Controller;
  const history = createHistoryActions(controller, () =>
    Promise.resolve({ db: memoryHistory(), reason: 'storage denied' }),
  );
  await history.open();
  assert.deepEqual(useAppStore.getState().historyStorage, { kind: 'memory', reason: 'storage denied' });
  const result = { images: [], tokens: [], imageSize: 256 };
  await history.record(DRAWING, result);
  await history.record({ ...DRAWING, prompt: 'a pear', seed: 7, candidates: 12 }, result);
  const [newest, older] = useAppStore.getState().history;
  assert.equal(newest!.prompt, 'a pear');
  assert.equal(older!.prompt, 'a red apple');

  useAppStore.setState({ phase: 'ready', selectedModel: 'demo' });
  await history.reopen(older!);
  assert.equal(useAppStore.getState().prompt, 'a red apple');
  assert.equal(useAppStore.getState().settings.seedLocked, true);
  assert.equal(useAppStore.getState().settings.count, 2);
  assert.deepEqual(draws, ['42']);
  assert.equal(useAppStore.getState().settings.rank, false, 'an unranked drawing is drawn again unranked');
  await history.reopen(newest!);
  assert.deepEqual(
    [useAppStore.getState().settings.rank, useAppStore.getState().settings.candidates],
    [true, 12],
    'a ranked one again ranked, with its candidates',
  );

  // The record holds the numbers it was drawn with; drawn again with the same model, a setting the model suggested
  // keeps following it, any other becomes the drawn number.
  const catalog = parseCatalog({
    format: 'dalle-mini-web-catalog/1',
    models: [{ ...CATALOG_ENTRY, id: 'demo', sampling: { conditionScale: 3 } }],
  }).models;
  useAppStore.setState({ catalog });
  setSettings(FOLLOW_MODEL);
  await history.reopen({ ...older!, sampling: { ...DRAWING.sampling, conditionScale: 3, topP: 0.9 } });
  assert.deepEqual([useAppStore.getState().settings.conditionScale, useAppStore.getState().settings.topP], [null, 0.9]);

  await history.remove(newest!.id);
  assert.deepEqual(
    useAppStore.getState().history.map((r) => r.prompt),
    ['a red apple'],
  );
  await history.clearAll();
  assert.deepEqual(useAppStore.getState().history, []);
});
