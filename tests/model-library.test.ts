/**
 * The worker's model library on the real tiny model folder, served by a fake fetch: what `inspect`
 * reports before and after a download, loading offline from the stored manifest, the storage
 * panel's list and deletes, and a memory store dropping its copy once the sessions hold the weights.
 */
import 'fake-indexeddb/auto';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadClipRanker } from '../src/pipeline/clip/clip-ranker.ts';
import { indexedDbBackend } from '../src/store/piece-store.ts';
import { createWorkerHandler } from '../src/worker/handler.ts';
import type { WorkerResponse } from '../src/worker/protocol.ts';
import { tinyClip, tinyModel } from './helpers/fixtures.ts';
import { ort } from './helpers/graphs.ts';
import { serveFolder, testLibrary } from './helpers/library.ts';
import type { FolderServer } from './helpers/library.ts';

const dir = tinyModel('fp32');
const BASE = 'https://models.test/tiny/';

void test('inspect reports the whole model as missing, then complete after open; offline it answers from the stored manifest', async () => {
  const server = serveFolder(dir, BASE);
  const library = testLibrary(server, indexedDbBackend('library-offline'));
  const before = await library.inspect(BASE);
  assert.equal(before.manifestFrom, 'network');
  assert.equal(before.complete, false);
  assert.equal(before.missingBytes, before.bytes);
  assert.deepEqual(before.storage, { kind: 'indexeddb' });

  const opened = await library.open(BASE, await library.manifest(BASE));
  const after = await library.inspect(BASE);
  assert.equal(after.complete, true);
  assert.equal(after.missingBytes, 0);

  server.offline = true;
  const offline = await library.inspect(BASE);
  assert.equal(offline.manifestFrom, 'store');
  assert.equal(offline.complete, true);
  const manifest = await library.manifest(BASE);
  const reopened = await library.open(BASE, manifest);
  const vocab = await reopened.source.readFile(manifest.tokenizer.vocab);
  assert.deepEqual(vocab, await opened.source.readFile(manifest.tokenizer.vocab));
});

void test('offline during an unfinished update (the service worker still serves its manifest), the whole old version opens', async () => {
  const server = serveFolder(dir, BASE);
  const library = testLibrary(server, indexedDbBackend('library-update-offline'));
  const stored = await library.manifest(BASE);
  await library.open(BASE, stored);
  // The next version adds a file; the network goes before it arrives.
  const extra = { path: 'extra.bin', bytes: 4, sha256: 'ab'.repeat(32) };
  const update = { ...stored, files: [...stored.files, extra] };
  server.offline = true;
  // The page checks first, with the update's manifest.json still served (a service worker kept it).
  const serving = (others: () => Promise<Response>): FolderServer => ({
    offline: false,
    requests: [],
    fetch: (url) => (url.endsWith('/manifest.json') ? Promise.resolve(new Response(JSON.stringify(update))) : others()),
  });
  const offline = serving(() => Promise.reject(new TypeError('Failed to fetch')));
  const info = await testLibrary(offline, indexedDbBackend('library-update-offline')).inspect(BASE);
  assert.deepEqual([info.complete, info.manifestFrom], [true, 'store'], 'offline: the whole version loads');
  // Where the host answers at all, the update is what is offered.
  // The load after that check opens the version it reported, even once the network is back.
  let back = false;
  const flaky = serving(() => (back ? Promise.resolve(new Response('x')) : Promise.reject(new TypeError('offline'))));
  const checked = testLibrary(flaky, indexedDbBackend('library-update-offline'));
  assert.equal((await checked.inspect(BASE)).manifestFrom, 'store');
  back = true;
  assert.deepEqual(await checked.manifest(BASE), stored, 'not the update the page never offered');
  const online = serving(() => Promise.resolve(new Response('not found', { status: 404 })));
  const offered = await testLibrary(online, indexedDbBackend('library-update-offline')).inspect(BASE);
  assert.deepEqual([offered.complete, offered.manifestFrom, offered.missingBytes], [false, 'network', 4]);
  const opened = await library.open(BASE, update);
  assert.deepEqual(opened.source.manifest, stored);
  const vocab = await opened.source.readFile(stored.tokenizer.vocab);
  assert.ok(vocab.byteLength > 0);
  // Other failures are not hidden behind the old version: a file that is not what its manifest says.
  server.offline = false;
  const wrong = { ...stored, files: [...stored.files, { ...extra, path: 'vocab.json', sha256: 'cd'.repeat(32) }] };
  await assert.rejects(library.open(BASE, wrong), /sha256|bytes/);
});

void test('offline with nothing stored, inspect fails with the network error', async () => {
  const server = serveFolder(dir, BASE);
  server.offline = true;
  await assert.rejects(testLibrary(server).inspect(BASE), /Failed to fetch/);
});

void test('the storage panel lists a stored model with its source, deletes it, and reports the usage', async () => {
  const library = testLibrary(serveFolder(dir, BASE), indexedDbBackend('library-panel'));
  await library.open(BASE, await library.manifest(BASE));
  const listed = await library.storage({ action: 'list' });
  assert.equal(listed.models.length, 1);
  const [model] = listed.models;
  assert.equal(model?.source, BASE);
  assert.equal(model?.complete, true);
  assert.equal(listed.usage.modelBytes, model?.bytes);
  const deleted = await library.storage({ action: 'delete', model: model.id });
  assert.deepEqual(deleted.models, []);
  assert.equal(deleted.usage.modelBytes, 0);
});

void test('a memory store forgets the model once the sessions are loaded', async () => {
  const library = testLibrary(serveFolder(dir, BASE));
  const opened = await library.open(BASE, await library.manifest(BASE));
  assert.equal((await library.storage({ action: 'list' })).models.length, 1);
  await opened.close({ loaded: true });
  assert.deepEqual((await library.storage({ action: 'list' })).models, []);
});

void test('a memory store hands each file over as it is read, so the model is never held twice; a second read refetches', async () => {
  const server = serveFolder(dir, BASE);
  const library = testLibrary(server);
  const manifest = await library.manifest(BASE);
  const opened = await library.open(BASE, manifest, { handOverFiles: true });
  const [model] = (await library.storage({ action: 'list' })).models;
  assert.equal(model?.storedBytes, model?.bytes);
  const file = manifest.graphs.decoder.externalData[0]!;
  const first = await opened.source.readFile(file);
  const entry = manifest.files.find((f) => f.path === file)!;
  const [after] = (await library.storage({ action: 'list' })).models;
  assert.equal(after?.storedBytes, model!.bytes - entry.bytes, 'the store no longer holds the file read');
  const requests = server.requests.length;
  assert.deepEqual(await opened.source.readFile(file), first);
  assert.deepEqual(server.requests.slice(requests), [new URL(file, BASE).href], 'read again: fetched once more');
});

void test('a CLIP ranker in a memory store loads without fetching anything again (transformers.js reads files twice)', async () => {
  const base = 'https://models.test/clip/';
  const server = serveFolder(tinyClip(), base);
  const library = testLibrary(server);
  const opened = await library.open(base, await library.clipManifest(base));
  const requests = server.requests.length;
  const ranker = await loadClipRanker(ort, opened.source, 'wasm');
  await ranker.dispose();
  assert.deepEqual(server.requests.slice(requests), []);
});

void test('the handler answers inspect and storage requests from the library', async () => {
  const posted: WorkerResponse[] = [];
  const handle = createWorkerHandler({
    post: (message) => posted.push(structuredClone(message)),
    loadModel: () => Promise.reject(new Error('not used')),
    library: testLibrary(serveFolder(dir, BASE)),
  });
  await handle({ type: 'inspect', id: 1, modelUrl: BASE });
  await handle({ type: 'storage', id: 2, request: { action: 'list' } });
  await handle({ type: 'inspect', id: 3, modelUrl: 'https://models.test/missing/' });
  assert.deepEqual(
    posted.map((m) => [m.type, m.id]),
    [
      ['model-info', 1],
      ['storage-report', 2],
      ['error', 3],
    ],
  );
  const info = posted[0];
  assert.ok(
    info?.type === 'model-info' && info.info.modelId === 'random-tiny-seed1' && info.info.storage.kind === 'memory',
  );
  const error = posted[2];
  assert.ok(error?.type === 'error' && /missing\/manifest\.json/.test(error.error.message), JSON.stringify(error));
});
