/**
 * The model store: pieces in and out, files shared between models stored once, listing and
 * deleting, on both backends.
 */
import 'fake-indexeddb/auto';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { IntegrityError } from '../src/model/integrity.ts';
import { ManifestError } from '../src/model/manifest.ts';
import { downloadModel } from '../src/store/download.ts';
import { FileNotStoredError } from '../src/store/errors.ts';
import { ModelStore } from '../src/store/model-store.ts';
import { indexedDbBackend, memoryBackend } from '../src/store/piece-store.ts';
import type { StoreBackend } from '../src/store/piece-store.ts';
import { fileKey, modelKey, pieceKey, piecePrefix } from '../src/store/records.ts';
import type { ModelRecord } from '../src/store/records.ts';
import { storedModelSource, storeModelSource } from '../src/store/store-model-source.ts';
import { BASE_URL, FakeModelServer, SHARED_PATHS, syntheticModel, totalBytes } from './helpers/store-fixtures.ts';

const PIECE = 1024;
let databases = 0;
const BACKENDS: readonly { readonly name: string; readonly open: () => StoreBackend }[] = [
  { name: 'memory', open: memoryBackend },
  { name: 'indexeddb', open: () => indexedDbBackend(`model-store-test-${++databases}`) },
];

const mini = syntheticModel('dalle-mini', 1);
const mega = syntheticModel('dalle-mega', 2, mini);
const ownPaths = (model: typeof mini) =>
  [...model.files.keys()].filter((path) => !(SHARED_PATHS as readonly string[]).includes(path));

for (const { name, open } of BACKENDS) {
  void test(`${name}: files are stored in pieces and read back whole, as one allocation of their size`, async () => {
    const backend = open();
    const store = new ModelStore(backend, { pieceBytes: PIECE, storage: undefined });
    await downloadModel(store, BASE_URL, mini.manifest, { fetch: new FakeModelServer(mini).fetch });
    const entry = mini.manifest.files.find((f) => f.path === 'vqgan.onnx_data')!;
    assert.equal((await backend.keys(piecePrefix(entry.sha256))).length, Math.ceil(entry.bytes / PIECE));
    assert.equal(((await backend.get(pieceKey(entry.sha256, 4))) as Uint8Array).byteLength, entry.bytes - 4 * PIECE);
    const source = storeModelSource(store, mini.manifest);
    for (const [path, bytes] of mini.files) {
      const read = await source.readFile(path);
      assert.deepEqual(read, bytes, path);
      assert.equal(read.buffer.byteLength, bytes.byteLength, `${path}: no larger buffer behind the bytes`);
    }
    await assert.rejects(source.readFile('secrets.txt'), ManifestError);
    assert.deepEqual(
      await (await storedModelSource(store, 'dalle-mini/q8')).readFile('vocab.json'),
      mini.files.get('vocab.json'),
    );
  });

  void test(`${name}: a file two models share is stored and downloaded once; deleting one model keeps it`, async () => {
    const backend = open();
    const store = new ModelStore(backend, { pieceBytes: PIECE, storage: undefined });
    await downloadModel(store, BASE_URL, mini.manifest, { fetch: new FakeModelServer(mini).fetch });
    const server = new FakeModelServer(mega);
    const second = await downloadModel(store, BASE_URL, mega.manifest, { fetch: server.fetch });
    assert.deepEqual(server.fetchedPaths().sort(), ownPaths(mega).sort(), 'only the files mini does not have');
    assert.equal(second.downloadedBytes, totalBytes(mega, ownPaths(mega)));
    const shared = totalBytes(mini, SHARED_PATHS);
    const models = await store.listModels();
    assert.deepEqual(
      models.map((m) => [m.id, m.bytes, m.storedBytes, m.sharedBytes, m.complete]),
      [
        ['dalle-mini/q8', totalBytes(mini), totalBytes(mini), shared, true],
        ['dalle-mega/q8', totalBytes(mega), totalBytes(mega), shared, true],
      ],
    );
    assert.equal(
      (await store.usage()).modelBytes,
      totalBytes(mini) + totalBytes(mega) - shared,
      'shared files counted once',
    );

    assert.equal(
      await store.deleteModel('dalle-mini/q8'),
      totalBytes(mini, ownPaths(mini)),
      'frees only what mega does not use',
    );
    assert.deepEqual(
      (await store.listModels()).map((m) => [m.id, m.sharedBytes, m.complete]),
      [['dalle-mega/q8', 0, true]],
    );
    const source = storeModelSource(store, mega.manifest);
    for (const path of SHARED_PATHS) assert.deepEqual(await source.readFile(path), mega.files.get(path));
    const gone = mini.manifest.files.find((f) => f.path === 'encoder.onnx_data')!;
    assert.deepEqual(await backend.keys(piecePrefix(gone.sha256)), []);
    assert.equal(await backend.get(fileKey(gone.sha256)), undefined);

    await store.deleteAll();
    assert.deepEqual(await store.listModels(), []);
    assert.deepEqual(await backend.keys(''), []);
    assert.equal((await store.usage()).modelBytes, 0);
  });

  void test(`${name}: a corrupted stored piece is an IntegrityError on read; the file is no longer complete and resumes from that piece`, async () => {
    const backend = open();
    const store = new ModelStore(backend, { pieceBytes: PIECE, storage: undefined });
    const server = new FakeModelServer(mini);
    await downloadModel(store, BASE_URL, mini.manifest, { fetch: server.fetch });
    const entry = mini.manifest.files.find((f) => f.path === 'decoder.onnx_data')!;
    const piece = Uint8Array.from((await backend.get(pieceKey(entry.sha256, 2))) as Uint8Array);
    piece[7]! ^= 0x10;
    await backend.put([[pieceKey(entry.sha256, 2), piece]]);

    const source = storeModelSource(store, mini.manifest);
    await assert.rejects(
      source.readFile('decoder.onnx_data'),
      (e: unknown) => e instanceof IntegrityError && e.file === 'decoder.onnx_data' && /piece 2/.test(e.expected),
    );
    assert.equal(await store.files.isComplete(entry), false);
    assert.equal((await store.status(mini.manifest)).complete, false);
    await assert.rejects(source.readFile('decoder.onnx_data'), FileNotStoredError);

    server.requests.length = 0;
    await downloadModel(store, BASE_URL, mini.manifest, { fetch: server.fetch });
    assert.deepEqual(server.requests, [{ path: 'decoder.onnx_data', range: `bytes=${2 * PIECE}-` }]);
    assert.deepEqual(await source.readFile('decoder.onnx_data'), mini.files.get('decoder.onnx_data'));
  });

  void test(`${name}: a missing piece (evicted, deleted) reads as not stored, not as garbage`, async () => {
    const backend = open();
    const store = new ModelStore(backend, { pieceBytes: PIECE, storage: undefined });
    await downloadModel(store, BASE_URL, mini.manifest, { fetch: new FakeModelServer(mini).fetch });
    const entry = mini.manifest.files.find((f) => f.path === 'vqgan.onnx_data')!;
    await backend.delete([pieceKey(entry.sha256, 1)]);
    await assert.rejects(
      store.readFile(entry),
      (e: unknown) => e instanceof FileNotStoredError && e.file === 'vqgan.onnx_data',
    );
    assert.equal((await store.files.record(entry.sha256))?.pieceHashes.length, 1);
  });
}

void test('a model saved again with other files leaves no orphaned files behind', async () => {
  const backend = memoryBackend();
  const store = new ModelStore(backend, { pieceBytes: PIECE, storage: undefined });
  await downloadModel(store, BASE_URL, mini.manifest, { fetch: new FakeModelServer(mini).fetch });
  const reexport = syntheticModel('dalle-mini', 3, mini);
  await downloadModel(store, BASE_URL, reexport.manifest, { fetch: new FakeModelServer(reexport).fetch });
  const models = await store.listModels();
  assert.deepEqual(
    models.map((m) => [m.id, m.storedBytes]),
    [['dalle-mini/q8', totalBytes(reexport)]],
  );
  assert.equal((await store.files.storedHashes()).size, reexport.files.size);
});

void test('an update that stops half-way keeps the old version whole, to load offline; a finished one removes it', async () => {
  const store = new ModelStore(memoryBackend(), { pieceBytes: PIECE, storage: undefined });
  const folder = new URL('.', BASE_URL).href;
  await downloadModel(store, BASE_URL, mini.manifest, { fetch: new FakeModelServer(mini).fetch });
  const update = syntheticModel('dalle-mini', 3, mini);
  const failing = new FakeModelServer(update, { status: new Map([['decoder.onnx_data', 503]]) });
  await assert.rejects(downloadModel(store, BASE_URL, update.manifest, { fetch: failing.fetch }), /503/);
  const offline = await store.manifestFrom(folder);
  assert.deepEqual(offline, mini.manifest, 'offline, the stored version that is whole loads');
  const source = storeModelSource(store, offline);
  for (const [path, bytes] of mini.files) assert.deepEqual(await source.readFile(path), bytes, path);
  // Loading it offline (nothing to fetch) keeps the update's stored part: going online again continues it.
  const stored = (await store.status(update.manifest)).storedBytes;
  assert.ok(stored > 0);
  const unreachable = () => Promise.reject(new TypeError('Failed to fetch'));
  await downloadModel(store, BASE_URL, offline, { fetch: unreachable });
  assert.equal((await store.status(update.manifest)).storedBytes, stored, 'the update’s pieces are kept');
  assert.deepEqual(await store.manifestFrom(folder), mini.manifest);

  const resumed = await downloadModel(store, BASE_URL, update.manifest, { fetch: new FakeModelServer(update).fetch });
  assert.equal(resumed.downloadedBytes, totalBytes(update) - stored, 'only what the update still lacked');
  assert.deepEqual(await store.manifestFrom(folder), update.manifest);
  assert.equal((await store.files.storedHashes()).size, update.files.size, 'the old version’s own files are gone');
});

void test('an update that only adds files and stops half-way also keeps the old version whole', async () => {
  const store = new ModelStore(memoryBackend(), { pieceBytes: PIECE, storage: undefined });
  const folder = new URL('.', BASE_URL).href;
  await downloadModel(store, BASE_URL, mini.manifest, { fetch: new FakeModelServer(mini).fetch });
  const extra = new Uint8Array(3 * PIECE).fill(7);
  const added = {
    path: 'extra.onnx',
    bytes: extra.byteLength,
    sha256: createHash('sha256').update(extra).digest('hex'),
  };
  const update = {
    manifest: { ...mini.manifest, files: [...mini.manifest.files, added] },
    files: new Map([...mini.files, ['extra.onnx', extra]]),
  };
  const failing = new FakeModelServer(update, { status: new Map([['extra.onnx', 503]]) });
  await assert.rejects(downloadModel(store, BASE_URL, update.manifest, { fetch: failing.fetch }), /503/);
  assert.deepEqual(await store.manifestFrom(folder), mini.manifest, 'offline, the stored version that is whole loads');
  await downloadModel(store, BASE_URL, update.manifest, { fetch: new FakeModelServer(update).fetch });
  assert.deepEqual(await store.manifestFrom(folder), update.manifest);
});

void test('a model record this version cannot read (a newer version’s) keeps its files when another model goes', async () => {
  const backend = memoryBackend();
  const store = new ModelStore(backend, { pieceBytes: PIECE, storage: undefined });
  await downloadModel(store, BASE_URL, mini.manifest, { fetch: new FakeModelServer(mini).fetch });
  await downloadModel(store, BASE_URL, mega.manifest, { fetch: new FakeModelServer(mega).fetch });
  // A tab running a newer version stored mini again under a dtype this version does not know.
  const future = { ...mini.manifest, dtype: 'int3', modelId: 'dalle-mini-next' };
  const written = { manifest: future, savedAt: Date.now() } as unknown as ModelRecord;
  await backend.put([[modelKey('dalle-mini-next/int3'), written]]);
  assert.deepEqual(
    (await store.listModels()).map((model) => model.id),
    ['dalle-mini/q8', 'dalle-mega/q8'],
  );
  await store.deleteModel('dalle-mini/q8');
  const source = storeModelSource(store, mini.manifest);
  for (const [path, bytes] of mini.files) assert.deepEqual(await source.readFile(path), bytes, path);
  // A record that lists nothing this version can find keeps every file.
  await backend.put([
    [modelKey('something/else'), { manifest: { format: 'other' }, savedAt: 0 } as unknown as ModelRecord],
  ]);
  await store.deleteModel('dalle-mega/q8');
  for (const [path, bytes] of mega.files)
    assert.deepEqual(await storeModelSource(store, mega.manifest).readFile(path), bytes, path);
});

void test('an entry that does not make sense reads as absent instead of crashing the store', async () => {
  const backend = memoryBackend();
  const store = new ModelStore(backend, { pieceBytes: PIECE, storage: undefined });
  const entry = mini.manifest.files[0]!;
  // More piece hashes than the file has pieces: written by something else than this version.
  await backend.put([
    [fileKey(entry.sha256), { bytes: entry.bytes, pieceBytes: PIECE, pieceHashes: ['a', 'b', 'c'], complete: true }],
  ]);
  assert.equal(await store.files.record(entry.sha256), undefined);
  assert.deepEqual((await store.status(mini.manifest)).storedBytes, 0);
});
