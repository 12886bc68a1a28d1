/**
 * History records: checked when read back, newest first, bounded; the actions keep, reopen and delete drawings (memory
 * store).
 */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import type { Controller } from '../src/ui/controller.ts';
import { createHistoryActions } from '../src/ui/history/history-actions.ts';
import type { HistoryChange } from '../src/ui/history/history-actions.ts';
import { memoryHistory } from '../src/ui/history/history-db.ts';
import {
  isThumbnail,
  MAX_HISTORY,
  newestFirst,
  newRecord,
  overflow,
  readRecord,
  recordBytes,
} from '../src/ui/history/records.ts';
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
    Promise.resolve({ db: memoryHistory(), problem: { kind: 'refused', detail: 'storage denied' } as const }),
  );
  await history.open();
  assert.deepEqual(useAppStore.getState().historyStorage, {
    kind: 'memory',
    problem: { kind: 'refused', detail: 'storage denied' },
  });
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

void test('a drawing not kept for a full storage says so and how to make room', async () => {
  const full = {
    ...memoryHistory(),
    kind: 'indexeddb' as const,
    put: () => Promise.reject(new DOMException('The quota has been exceeded.', 'QuotaExceededError')),
  };
  const history = createHistoryActions({} as Controller, () => Promise.resolve({ db: full, problem: null }));
  await history.open();
  await history.record(DRAWING, { images: [], tokens: [], imageSize: 256 });
  assert.match(useAppStore.getState().error ?? '', /not kept in the history: .* full\. Delete older drawings/);
  assert.deepEqual(useAppStore.getState().history, []);
});

void test('"delete all" while a finished drawing is still being kept: it does not come back after the list is cleared', async () => {
  const history = createHistoryActions({} as Controller, () => Promise.resolve({ db: memoryHistory(), problem: null }));
  await history.open();
  await history.record(DRAWING, { images: [], tokens: [], imageSize: 256 });
  const keeping = history.record({ ...DRAWING, prompt: 'a pear' }, { images: [], tokens: [], imageSize: 256 });
  await history.clearAll();
  await keeping;
  assert.deepEqual(useAppStore.getState().history, []);
  await history.record(DRAWING, { images: [], tokens: [], imageSize: 256 });
  assert.equal(useAppStore.getState().history.length, 1, 'a drawing finished after it is kept');
});

void test('drawing again a drawing whose model cannot run here, or is offered no more, keeps the loaded model', async () => {
  const calls: string[] = [];
  const controller = {
    selectModel: (id: string) => (calls.push(`select ${id}`), Promise.resolve()),
    draw: () => (calls.push('draw'), Promise.resolve(true)),
  } as unknown as Controller;
  const history = createHistoryActions(controller, () => Promise.resolve({ db: memoryHistory(), problem: null }));
  await history.open();
  const catalog = parseCatalog({
    format: 'dalle-mini-web-catalog/1',
    models: [
      { ...CATALOG_ENTRY, id: 'demo' },
      { ...CATALOG_ENTRY, id: 'mega', name: 'DALL·E Mega' },
    ],
  }).models;
  useAppStore.setState({
    catalog,
    selectedModel: 'demo',
    phase: 'ready',
    unavailable: { mega: 'it needs WebGPU' },
  });
  const mega = newRecord({ ...DRAWING, model: 'mega', prompt: 'a castle', seed: 5 }, 1, []);
  await history.reopen(mega);
  assert.deepEqual(calls, [], 'neither picked nor drawn with another model');
  assert.equal(useAppStore.getState().prompt, 'a castle');
  assert.equal(useAppStore.getState().settings.seedText, '5');
  assert.match(useAppStore.getState().notice ?? '', /made with DALL·E Mega, which cannot run here \(it needs WebGPU\)/);

  const gone = newRecord({ ...DRAWING, model: 'retired', modelId: 'retired-v1' }, 1, []);
  await history.reopen(gone);
  assert.deepEqual(calls, []);
  assert.match(useAppStore.getState().notice ?? '', /made with retired-v1, which this site no longer offers/);

  await history.reopen(newRecord(DRAWING, 1, []));
  assert.deepEqual(calls, ['draw'], 'the loaded model draws its own drawings again');
});

void test('stored drawings this version cannot read are counted, not listed, and "delete all" removes them too', async () => {
  const db = memoryHistory();
  await db.put('drawing:from-a-newer-version', { id: 'drawing:from-a-newer-version', format: 99 });
  const history = createHistoryActions({} as Controller, () => Promise.resolve({ db, problem: null }));
  await history.open();
  await history.record(DRAWING, { images: [], tokens: [], imageSize: 256 });
  assert.equal(useAppStore.getState().history.length, 1);
  assert.equal(useAppStore.getState().historyUnreadable, 1);
  await history.clearAll();
  assert.equal(useAppStore.getState().historyUnreadable, 0);
  assert.deepEqual(await db.all(), []);
});

void test("another tab's changes are listed here too; its 'delete all' drops a drawing still being kept here", async () => {
  const db = { ...memoryHistory(), kind: 'indexeddb' as const };
  const listeners: ((change: HistoryChange) => void)[] = [];
  const tell = async (change: HistoryChange) => {
    listeners.forEach((listener) => listener(change));
    await new Promise((resolve) => setTimeout(resolve, 10));
  };
  const here = createHistoryActions({} as Controller, () => Promise.resolve({ db, problem: null }), {
    announce: () => undefined,
    onChange: (listener) => listeners.push(listener),
  });
  await here.open();
  assert.deepEqual(useAppStore.getState().history, []);
  // The other tab writes to the same database and tells the others.
  const record = newRecord(DRAWING, 1, []);
  await db.put(record.id, record);
  await tell('changed');
  assert.deepEqual(
    useAppStore.getState().history.map((r) => r.prompt),
    ['a red apple'],
  );

  const keeping = here.record({ ...DRAWING, prompt: 'a pear' }, { images: [], tokens: [], imageSize: 256 });
  await db.clear();
  await tell('cleared');
  await keeping;
  assert.deepEqual(useAppStore.getState().history, []);
  assert.deepEqual(await db.all(), []);
});

void test("the storage probe's leftovers are not drawings; an empty canvas's thumbnail is not kept", async () => {
  const db = memoryHistory();
  await db.put('probe:1:0.5', { probe: true });
  const history = createHistoryActions({} as Controller, () => Promise.resolve({ db, problem: null }));
  await history.open();
  assert.equal(useAppStore.getState().historyUnreadable, 0);
  assert.equal(isThumbnail('data:'), false);
  assert.equal(isThumbnail('data:image/jpeg;base64,'), false);
  assert.equal(isThumbnail(THUMB), true);
});

void test('"Draw again" clears the notice of the one before and leaves the page\'s error alone', async () => {
  const history = createHistoryActions({ draw: () => Promise.resolve(true) } as unknown as Controller, () =>
    Promise.resolve({ db: memoryHistory(), problem: null }),
  );
  await history.open();
  const catalog = parseCatalog({
    format: 'dalle-mini-web-catalog/1',
    models: [{ ...CATALOG_ENTRY, id: 'demo' }],
  }).models;
  useAppStore.setState({ catalog, selectedModel: 'demo', phase: 'failed', error: 'the GPU was lost' });
  await history.reopen(newRecord({ ...DRAWING, model: 'retired' }, 1, []));
  assert.match(useAppStore.getState().notice ?? '', /no longer offers/);
  assert.equal(useAppStore.getState().error, 'the GPU was lost');
  await history.reopen(newRecord(DRAWING, 1, []));
  assert.equal(useAppStore.getState().notice, null);
});
