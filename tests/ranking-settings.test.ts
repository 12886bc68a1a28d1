/** The page's ranking choices: the catalog's rankers, which one goes with a model, when ranking starts off and why. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { catalogHosts, parseCatalog } from '../src/model/catalog.ts';
import { GenerationCancelledError } from '../src/pipeline/errors.ts';
import { DownloadCancelledError } from '../src/store/errors.ts';
import { createModelActions } from '../src/ui/model-actions.ts';
import { createRankingActions, pickRanker } from '../src/ui/ranking-actions.ts';
import { INITIAL_RANKING, useRankingStore } from '../src/ui/ranking-store.ts';
import { INITIAL_STATE, setSettings, useAppStore } from '../src/ui/store.ts';
import type { DalleGenerator } from '../src/worker/client.ts';
import type { ModelInfo } from '../src/worker/protocol.ts';
import { clampCandidates, rankingEnabled, rankingOffReason } from '../src/ui/ranking-store.ts';

const SITE_CATALOG = join(import.meta.dirname, '..', 'public', 'models', 'catalog.json');
const site = parseCatalog(JSON.parse(readFileSync(SITE_CATALOG, 'utf8')));
const [demoModel, realModel] = site.models;

void test("the site's catalog offers the bundled demo CLIP and the real one, which asks first", () => {
  assert.deepEqual(
    site.rankers.map((r) => [r.id, r.dtype, r.randomWeights, r.askBeforeDownload]),
    [
      ['clip-demo', 'fp32', false, false],
      ['clip-vit-base-patch32-q8', 'q8', false, true],
    ],
  );
});

void test('the bundled demo model gets the bundled ranker, a real model the real one', () => {
  assert.equal(pickRanker(site.rankers, demoModel)?.id, 'clip-demo');
  assert.equal(pickRanker(site.rankers, realModel)?.id, 'clip-vit-base-patch32-q8');
  assert.equal(pickRanker([], realModel), null);
  assert.equal(pickRanker(site.rankers.slice(0, 1), realModel)?.id, 'clip-demo', 'the only ranker otherwise');
});

void test('ranking starts off with a random CLIP and below 4 GB, saying why; on otherwise', () => {
  const [demo, real] = site.rankers;
  assert.match(rankingOffReason(8, { ...demo!, randomWeights: true })!, /random weights/);
  assert.equal(rankingOffReason(8, demo!), null, 'the demo CLIP is trained: ranking starts on');
  assert.match(rankingOffReason(2, real!)!, /reports 2 GB of memory/);
  assert.equal(rankingOffReason(8, real!), null);
  assert.equal(rankingOffReason(undefined, real!), null, 'a browser that does not say is not short of memory');
});

void test("the visitor's choice (a setting, also from a link) wins over the device's default; no ranker, no ranking", () => {
  const [demo, real] = site.rankers;
  const offHere = { ranker: demo!, offReason: 'random weights' };
  const onHere = { ranker: real!, offReason: null };
  assert.equal(rankingEnabled(null, offHere), false);
  assert.equal(rankingEnabled(null, onHere), true);
  assert.equal(rankingEnabled(true, offHere), true);
  assert.equal(rankingEnabled(false, onHere), false);
  assert.equal(rankingEnabled(true, { ranker: null, offReason: null }), false);
});

void test('candidates stay between the images shown and 64', () => {
  assert.equal(clampCandidates(16, 9), 16);
  assert.equal(clampCandidates(3, 9), 9);
  assert.equal(clampCandidates(500, 4), 64);
});

void test('rankers are checked like models: ids unique across both lists, absolute hosts allowed by the CSP', () => {
  const json = JSON.parse(readFileSync(SITE_CATALOG, 'utf8')) as { models: unknown[]; rankers: object[] };
  const hosted = { ...json, rankers: [{ ...json.rankers[1], url: 'https://hf.example/clip/resolve/main/' }] };
  assert.deepEqual(catalogHosts(parseCatalog(hosted)), ['https://hf.example']);
  const clash = { ...json, rankers: [{ ...json.rankers[0], id: 'demo' }] };
  assert.throws(() => parseCatalog(clash), /"rankers\[0\]\.id" repeats the id "demo"/);
  const badDtype = { ...json, rankers: [{ ...json.rankers[0], dtype: 'q4' }] };
  assert.throws(() => parseCatalog(badDtype), /"rankers\[0\]\.dtype" must be one of "fp32", "fp16", "q8"/);
  assert.deepEqual(parseCatalog({ format: 'dalle-mini-web-catalog/1', models: json.models }).rankers, []);
});

void test('ranking turned on outside the panel (reset, history, a link) still asks before downloading CLIP', async () => {
  let loads = 0;
  const generator = {
    inspect: () => Promise.resolve({ complete: false, missingBytes: 153_500_000 } as ModelInfo),
    loadRanker: () => (loads++, Promise.reject(new Error('must not load'))),
  } as unknown as DalleGenerator;
  const actions = await configuredActions(generator, { phase: 'generating' });
  assert.equal(useRankingStore.getState().ranker?.id, 'clip-vit-base-patch32-q8');
  await assert.rejects(actions.forDraw(9), /is not downloaded/);
  assert.equal(useRankingStore.getState().status, 'consent');
  assert.equal(loads, 0);
});

/** A worker whose ranker download runs until its signal aborts, then fails as the worker's cancel does. */
function downloadingRanker(): { generator: DalleGenerator; loads: () => number } {
  let loads = 0;
  const generator = {
    inspect: () => Promise.resolve({ complete: false, missingBytes: 153_500_000 } as ModelInfo),
    loadRanker: (_params: unknown, _progress: unknown, signal?: AbortSignal) => {
      loads++;
      return new Promise((_, reject) =>
        signal?.addEventListener('abort', () => reject(new DownloadCancelledError()), { once: true }),
      );
    },
  } as unknown as DalleGenerator;
  return { generator, loads: () => loads };
}

/** Ranking actions on `generator`, ranking on, configured from the site's catalog for `model`. */
async function configuredActions(
  generator: DalleGenerator,
  { model = realModel, phase = 'ready' }: { model?: typeof realModel | undefined; phase?: 'ready' | 'generating' } = {},
) {
  useAppStore.setState({ ...INITIAL_STATE, phase }, true);
  useRankingStore.setState(INITIAL_RANKING, true);
  setSettings({ rank: true });
  const actions = createRankingActions({ current: () => generator, replace: () => undefined });
  const realFetch = globalThis.fetch;
  globalThis.fetch = () => Promise.resolve(new Response(readFileSync(SITE_CATALOG)));
  try {
    await actions.configure('http://test/models/catalog.json', model);
  } finally {
    globalThis.fetch = realFetch;
  }
  return actions;
}

void test("a drawing's Cancel while it waits for CLIP to download is honoured at once; the download goes on", async () => {
  const { generator, loads } = downloadingRanker();
  const actions = await configuredActions(generator);
  const download = actions.acceptDownload();
  assert.equal(useRankingStore.getState().status, 'loading');
  const cancel = new AbortController();
  const waiting = actions.forDraw(4, cancel.signal);
  cancel.abort();
  await assert.rejects(waiting, GenerationCancelledError);
  assert.equal(useRankingStore.getState().status, 'loading', 'the download was not stopped by the drawing');
  assert.equal(loads(), 1);
  actions.cancelDownload();
  await download;
});

void test("the ranker's Stop ends its download and offers it again; stored files cannot be deleted meanwhile", async () => {
  const { generator } = downloadingRanker();
  const actions = await configuredActions(generator);
  const download = actions.acceptDownload();
  assert.equal(useRankingStore.getState().status, 'loading');
  let deletes = 0;
  const models = createModelActions(
    {
      current: () =>
        ({ storage: () => (deletes++, Promise.reject(new Error('deleted'))) }) as unknown as DalleGenerator,
      replace: () => undefined,
    },
    () => Promise.resolve(),
  );
  await models.deleteStored(null);
  assert.equal(deletes, 0, 'Delete all waits for the ranker');
  actions.cancelDownload();
  await download;
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(useRankingStore.getState().status, 'consent');
  assert.match(useRankingStore.getState().detail ?? '', /to download once/);
});

void test('switching model switches ranker: the real model asks for the real CLIP though the demo CLIP was loaded', async () => {
  const loaded: string[] = [];
  const generator = {
    inspect: (url: string) =>
      Promise.resolve({ complete: !url.includes('vit-base'), missingBytes: url.includes('vit-base') ? 1 : 0 }),
    loadRanker: ({ modelUrl }: { modelUrl: string }) => (loaded.push(modelUrl), Promise.resolve({})),
  } as unknown as DalleGenerator;
  const actions = await configuredActions(generator, { model: demoModel });
  await actions.modelReady();
  assert.equal(useRankingStore.getState().status, 'ready');
  assert.equal(loaded.length, 1);
  actions.modelChosen(realModel!);
  assert.equal(useRankingStore.getState().ranker?.id, 'clip-vit-base-patch32-q8');
  assert.equal(useRankingStore.getState().offReason, null, 'the real CLIP is not off for random weights');
  await actions.modelReady();
  assert.equal(useRankingStore.getState().status, 'consent');
  await actions.acceptDownload();
  assert.equal(useRankingStore.getState().status, 'ready');
  assert.match(loaded[1] ?? '', /vit-base/);
});

void test('Stop on the bundled CLIP (which loads without asking) stops it: nothing loads again until asked', async () => {
  const { generator, loads } = downloadingRanker();
  const actions = await configuredActions(generator, { model: demoModel });
  void actions.modelReady();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(useRankingStore.getState().status, 'loading');
  actions.cancelDownload();
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(loads(), 1, 'not started again');
  assert.equal(useRankingStore.getState().status, 'idle');
});

void test('a model picked while the catalog is read gets its own ranker, not the one of the model picked before', async () => {
  useAppStore.setState({ ...INITIAL_STATE, phase: 'ready' }, true);
  useRankingStore.setState(INITIAL_RANKING, true);
  const actions = createRankingActions({ current: () => ({}) as DalleGenerator, replace: () => undefined });
  let answer: () => void = () => undefined;
  const realFetch = globalThis.fetch;
  globalThis.fetch = () => new Promise((resolve) => (answer = () => resolve(new Response(readFileSync(SITE_CATALOG)))));
  try {
    const configuring = actions.configure('http://test/models/catalog.json', demoModel);
    actions.modelChosen(realModel!);
    answer();
    await configuring;
  } finally {
    globalThis.fetch = realFetch;
  }
  assert.equal(useRankingStore.getState().ranker?.id, 'clip-vit-base-patch32-q8');
});
