/** Downloading into the store: progress, resume with Range, servers without Range, integrity, quota, cancel. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IntegrityError } from '../src/model/integrity.ts';
import { ManifestError } from '../src/model/manifest.ts';
import { downloadModel } from '../src/store/download.ts';
import {
  DownloadCancelledError,
  DownloadHttpError,
  DownloadInterruptedError,
  StorageQuotaError,
} from '../src/store/errors.ts';
import { ModelStore } from '../src/store/model-store.ts';
import { memoryBackend } from '../src/store/piece-store.ts';
import type { DownloadProgress } from '../src/store/progress.ts';
import { piecePrefix } from '../src/store/records.ts';
import { storeModelSource } from '../src/store/store-model-source.ts';
import type { StorageManagerLike } from '../src/store/storage-quota.ts';
import {
  BASE_URL,
  FakeModelServer,
  fakeStorageManager,
  quotaBackend,
  steppingClock,
  syntheticModel,
  totalBytes,
} from './helpers/store-fixtures.ts';
import { sha256 } from './helpers/synthetic-model.ts';

const PIECE = 1024;
const model = syntheticModel('dalle-mini', 1);
const entryOf = (path: string) => model.manifest.files.find((f) => f.path === path)!;
const newStore = (storage?: StorageManagerLike) => new ModelStore(memoryBackend(), { pieceBytes: PIECE, storage });

async function assertStoredIntact(store: ModelStore): Promise<void> {
  assert.equal((await store.status(model.manifest)).complete, true);
  const source = storeModelSource(store, model.manifest);
  for (const [path, bytes] of model.files) assert.deepEqual(await source.readFile(path), bytes, path);
}

function assertProgressInvariants(events: readonly DownloadProgress[], total: number): void {
  assert.ok(events.length > 0);
  for (const [i, event] of events.entries()) {
    assert.equal(event.total, total, 'total is stable');
    assert.ok(event.loaded <= total);
    if (i > 0) assert.ok(event.loaded >= events[i - 1]!.loaded, `loaded never decreases (event ${i})`);
    assert.ok(event.file.loaded <= event.file.total);
    assert.ok(event.secondsLeft === null || event.secondsLeft >= 0);
  }
  assert.equal(events.at(-1)!.loaded, total, 'ends at total');
  assert.equal(events.at(-1)!.secondsLeft, 0);
}

void test('progress: per-file lifecycle and totals; loaded never decreases, total is stable, it ends at total; speed and time left', async () => {
  const store = newStore(fakeStorageManager({ usage: 0, quota: 1e9 }));
  const events: DownloadProgress[] = [];
  const result = await downloadModel(store, BASE_URL, model.manifest, {
    fetch: new FakeModelServer(model).fetch,
    onProgress: (p) => events.push(p),
    now: steppingClock(),
  });
  assert.deepEqual(result, {
    id: 'dalle-mini/q8',
    bytes: totalBytes(model),
    downloadedBytes: totalBytes(model),
    persisted: true,
  });
  assertProgressInvariants(events, totalBytes(model));
  const states = events.filter((e) => e.file.path === 'vqgan.onnx_data').map((e) => e.file.state);
  assert.deepEqual([...new Set(states)], ['checking', 'downloading', 'complete']);
  const speeds = events.map((e) => e.bytesPerSecond).filter((s) => s !== null);
  assert.ok(speeds.length > 0 && speeds.every((s) => s > 0));
  assert.ok(events.some((e) => e.secondsLeft !== null && e.secondsLeft > 0));

  // A second call finds everything stored: nothing fetched, every file reported as stored.
  const again: DownloadProgress[] = [];
  const server = new FakeModelServer(model);
  assert.equal(
    (await downloadModel(store, BASE_URL, model.manifest, { fetch: server.fetch, onProgress: (p) => again.push(p) }))
      .downloadedBytes,
    0,
  );
  assert.deepEqual(server.requests, []);
  assert.ok(again.every((e) => e.file.state === 'stored'));
  assertProgressInvariants(again, totalBytes(model));
});

void test('resume: a dropped connection keeps the stored pieces; the retry asks for the rest with Range and the hash comes out right', async () => {
  const store = newStore();
  const server = new FakeModelServer(model, { cutAfter: new Map([['vqgan.onnx_data', 2500]]) });
  await assert.rejects(
    downloadModel(store, BASE_URL, model.manifest, { fetch: server.fetch }),
    (e: unknown) => e instanceof DownloadInterruptedError && e.file === 'vqgan.onnx_data' && e.receivedBytes === 2500,
  );
  assert.equal(
    (await store.files.record(entryOf('vqgan.onnx_data').sha256))?.pieceHashes.length,
    2,
    'the two full pieces before the cut',
  );
  const done = (await store.listModels())[0]!;
  assert.equal(done.complete, false);

  server.requests.length = 0;
  const events: DownloadProgress[] = [];
  const result = await downloadModel(store, BASE_URL, model.manifest, {
    fetch: server.fetch,
    onProgress: (p) => events.push(p),
  });
  assert.deepEqual(server.requests[0], { path: 'vqgan.onnx_data', range: `bytes=${2 * PIECE}-` });
  assert.ok(!server.requests.some((r) => r.path === 'encoder.onnx'), 'completed files are not fetched again');
  assert.equal(result.downloadedBytes, totalBytes(model) - done.storedBytes);
  assertProgressInvariants(events, totalBytes(model));
  await assertStoredIntact(store);
});

void test('resume from a cross-origin host that hides Content-Range (not exposed to the page): the 206 is the rest', async () => {
  const store = newStore();
  const server = new FakeModelServer(model, { cutAfter: new Map([['vqgan.onnx_data', 2500]]) });
  await assert.rejects(
    downloadModel(store, BASE_URL, model.manifest, { fetch: server.fetch }),
    DownloadInterruptedError,
  );
  server.requests.length = 0;
  // What the page sees of a CORS response without Access-Control-Expose-Headers: Content-Range is filtered out.
  const crossOrigin: typeof server.fetch = async (url, init) => {
    const response = await server.fetch(url, init);
    const headers = new Headers(response.headers);
    headers.delete('Content-Range');
    const filtered = new Response(response.body, { status: response.status, headers });
    Object.defineProperty(filtered, 'type', { value: 'cors' });
    return filtered;
  };
  const result = await downloadModel(store, BASE_URL, model.manifest, { fetch: crossOrigin });
  assert.deepEqual(
    server.requests.filter((r) => r.path === 'vqgan.onnx_data'),
    [{ path: 'vqgan.onnx_data', range: `bytes=${2 * PIECE}-` }],
    'no second request from byte 0',
  );
  assert.ok(result.downloadedBytes < totalBytes(model));
  await assertStoredIntact(store);
});

void test('resume: a stored piece damaged since the interruption is caught by the re-hash; the download resumes before it', async () => {
  const backend = memoryBackend();
  const store = new ModelStore(backend, { pieceBytes: PIECE, storage: undefined });
  await assert.rejects(
    downloadModel(store, BASE_URL, model.manifest, {
      fetch: new FakeModelServer(model, { cutAfter: new Map([['vqgan.onnx_data', 3500]]) }).fetch,
    }),
    DownloadInterruptedError,
  );
  const sha = entryOf('vqgan.onnx_data').sha256;
  const key = `${piecePrefix(sha)}1`;
  const piece = Uint8Array.from((await backend.get(key)) as Uint8Array);
  piece[0]! ^= 1;
  await backend.put([[key, piece]]);
  const server = new FakeModelServer(model);
  await downloadModel(store, BASE_URL, model.manifest, { fetch: server.fetch });
  assert.deepEqual(server.requests[0], { path: 'vqgan.onnx_data', range: `bytes=${PIECE}-` });
  await assertStoredIntact(store);
});

for (const range of ['ignore', 'wrong'] as const) {
  void test(`a server that ${range === 'ignore' ? 'answers 200 to a Range request' : 'sends the wrong Content-Range'} makes the file start over`, async () => {
    const store = newStore();
    await assert.rejects(
      downloadModel(store, BASE_URL, model.manifest, {
        fetch: new FakeModelServer(model, { cutAfter: new Map([['decoder.onnx_data', 3000]]) }).fetch,
      }),
      DownloadInterruptedError,
    );
    const server = new FakeModelServer(model, { range });
    const events: DownloadProgress[] = [];
    const result = await downloadModel(store, BASE_URL, model.manifest, {
      fetch: server.fetch,
      onProgress: (p) => events.push(p),
    });
    const expected =
      range === 'ignore'
        ? [{ path: 'decoder.onnx_data', range: 'bytes=2048-' }]
        : [
            { path: 'decoder.onnx_data', range: 'bytes=2048-' },
            { path: 'decoder.onnx_data', range: null },
          ];
    assert.deepEqual(
      server.requests.filter((r) => r.path === 'decoder.onnx_data'),
      expected,
    );
    assert.ok(result.downloadedBytes >= entryOf('decoder.onnx_data').bytes, 'the whole file came again');
    assertProgressInvariants(events, totalBytes(model));
    await assertStoredIntact(store);
  });
}

void test('an error status on resume keeps the stored pieces', async () => {
  const store = newStore();
  await assert.rejects(
    downloadModel(store, BASE_URL, model.manifest, {
      fetch: new FakeModelServer(model, { cutAfter: new Map([['vqgan.onnx_data', 2100]]) }).fetch,
    }),
    DownloadInterruptedError,
  );
  const failing = new FakeModelServer(model, { status: new Map([['vqgan.onnx_data', 503]]) });
  await assert.rejects(
    downloadModel(store, BASE_URL, model.manifest, { fetch: failing.fetch }),
    (e: unknown) => e instanceof DownloadHttpError && e.file === 'vqgan.onnx_data' && /503/.test(e.message),
  );
  assert.equal((await store.files.record(entryOf('vqgan.onnx_data').sha256))?.pieceHashes.length, 2);
});

void test('a corrupted download is an IntegrityError naming the file; the file is discarded and nothing of it is marked complete', async () => {
  const backend = memoryBackend();
  const store = new ModelStore(backend, { pieceBytes: PIECE, storage: undefined });
  const corrupted = Uint8Array.from(model.files.get('encoder.onnx_data')!);
  corrupted[1500]! ^= 0x80;
  const server = new FakeModelServer(model, { replace: new Map([['encoder.onnx_data', corrupted]]) });
  await assert.rejects(
    downloadModel(store, BASE_URL, model.manifest, { fetch: server.fetch }),
    (e: unknown) =>
      e instanceof IntegrityError && e.file === 'encoder.onnx_data' && /encoder\.onnx_data/.test(e.message),
  );
  const sha = entryOf('encoder.onnx_data').sha256;
  assert.equal(await store.files.record(sha), undefined);
  assert.deepEqual(await backend.keys(piecePrefix(sha)), []);
  assert.equal((await store.status(model.manifest)).complete, false);
  assert.equal(await store.files.isComplete(entryOf('encoder.onnx')), true, 'files verified before it stay');
});

void test('a body of the wrong size is an IntegrityError, with or without Content-Length', async () => {
  const longer = new Uint8Array(entryOf('merges.txt').bytes + 10);
  const shorter = model.files.get('merges.txt')!.subarray(5).slice();
  for (const replacement of [longer, shorter]) {
    const store = newStore();
    const server = new FakeModelServer(model, { replace: new Map([['merges.txt', replacement]]) });
    await assert.rejects(
      downloadModel(store, BASE_URL, model.manifest, { fetch: server.fetch }),
      (e: unknown) => e instanceof IntegrityError && e.file === 'merges.txt',
    );
  }
  const store = newStore();
  const noLength = (url: string, init?: RequestInit) =>
    new FakeModelServer(model, { replace: new Map([['merges.txt', longer]]) })
      .fetch(url, init)
      .then((r) => new Response(r.body, { status: r.status }));
  await assert.rejects(
    downloadModel(store, BASE_URL, model.manifest, { fetch: noLength }),
    (e: unknown) => e instanceof IntegrityError && /more than/.test(e.actual),
  );
});

void test('an HTML page (a dev server answering a missing file with index.html) is refused by name', async () => {
  const server = new FakeModelServer(model, { contentType: 'text/html; charset=utf-8' });
  await assert.rejects(
    downloadModel(newStore(), BASE_URL, model.manifest, { fetch: server.fetch }),
    (e: unknown) => e instanceof DownloadHttpError && /web page instead of the file/.test(e.message),
  );
});

void test('a file path that leaves the model folder is refused before anything is fetched', async () => {
  const manifest = {
    ...model.manifest,
    files: [...model.manifest.files, { path: '../other/secret.bin', bytes: 1, sha256: 'ab'.repeat(32) }],
  };
  const server = new FakeModelServer(model);
  await assert.rejects(downloadModel(newStore(), BASE_URL, manifest, { fetch: server.fetch }), ManifestError);
  assert.deepEqual(server.requests, []);
});

void test('an empty file and a file listed twice under two paths are stored once, without a request for the empty one', async () => {
  const vocab = entryOf('vocab.json');
  const extra = [
    { path: 'empty.bin', bytes: 0, sha256: sha256(new Uint8Array()) },
    { path: 'vocab-copy.json', bytes: vocab.bytes, sha256: vocab.sha256 },
  ];
  const manifest = { ...model.manifest, files: [...model.manifest.files, ...extra] };
  const store = newStore();
  const server = new FakeModelServer(model);
  const result = await downloadModel(store, BASE_URL, manifest, { fetch: server.fetch });
  assert.equal(result.bytes, totalBytes(model));
  assert.deepEqual(server.fetchedPaths().sort(), [...model.files.keys()].sort());
  const source = storeModelSource(store, manifest);
  assert.equal((await source.readFile('empty.bin')).byteLength, 0);
  assert.deepEqual(await source.readFile('vocab-copy.json'), model.files.get('vocab.json'));
});

void test('cancel: the AbortSignal stops the download with DownloadCancelledError and what is stored stays', async () => {
  const store = newStore();
  const controller = new AbortController();
  const onProgress = (p: DownloadProgress) => p.loaded > 6000 && controller.abort();
  await assert.rejects(
    downloadModel(store, BASE_URL, model.manifest, {
      fetch: new FakeModelServer(model).fetch,
      signal: controller.signal,
      onProgress,
    }),
    DownloadCancelledError,
  );
  const stored = (await store.status(model.manifest)).storedBytes;
  assert.ok(stored > 0 && stored < totalBytes(model));
  await downloadModel(store, BASE_URL, model.manifest, { fetch: new FakeModelServer(model).fetch });
  await assertStoredIntact(store);
});

void test('too little space per navigator.storage.estimate(): refused before any request, saying how much is missing', async () => {
  const storage = fakeStorageManager({ usage: 4000, quota: 10000 });
  const store = newStore(storage);
  const server = new FakeModelServer(model);
  await assert.rejects(
    downloadModel(store, BASE_URL, model.manifest, { fetch: server.fetch }),
    (e: unknown) =>
      e instanceof StorageQuotaError &&
      e.when === 'before-download' &&
      e.neededBytes === totalBytes(model) &&
      e.missingBytes === totalBytes(model) - 6000,
  );
  assert.deepEqual(server.requests, []);
  assert.deepEqual(await store.listModels(), []);
  assert.equal(storage.persistCalls, 0);
});

void test('QuotaExceededError mid-way: StorageQuotaError with the bytes missing, completed files kept, the download resumes once there is room', async () => {
  const backend = quotaBackend(9000);
  // The estimate showed room before the download; by the refusal the site has 1000 bytes left.
  const store = new ModelStore(backend, {
    pieceBytes: PIECE,
    storage: fakeStorageManager({ usage: 0, quota: 1e9 }, { usage: 8000, quota: 9000 }),
  });
  const error = await downloadModel(store, BASE_URL, model.manifest, { fetch: new FakeModelServer(model).fetch }).then(
    () => assert.fail('expected a quota error'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof StorageQuotaError && error.when === 'during-download', String(error));
  const status = await store.status(model.manifest);
  assert.equal(error.neededBytes, status.missingBytes);
  assert.equal(error.missingBytes, error.neededBytes - 1000);
  assert.match(error.message, /still to store/);
  const complete = await Promise.all(model.manifest.files.map((f) => store.files.isComplete(f)));
  assert.deepEqual(complete.slice(0, 3), [true, true, true], 'the files before the refusal are kept');
  assert.equal(complete.at(-1), false);
  assert.equal((await store.listModels())[0]?.complete, false);

  // Space freed: the same backend, a browser that now has room.
  backend.limitBytes = Infinity;
  const roomy = new ModelStore(backend, {
    pieceBytes: PIECE,
    storage: fakeStorageManager({ usage: 9000, quota: 1e9 }),
  });
  const server = new FakeModelServer(model);
  await downloadModel(roomy, BASE_URL, model.manifest, { fetch: server.fetch });
  assert.ok(!server.fetchedPaths().includes('decoder.onnx'));
  await assertStoredIntact(roomy);
});

void test('persistent storage is requested when a download starts, and the answer returned', async () => {
  const storage = fakeStorageManager({ usage: 0, quota: 1e9 });
  const result = await downloadModel(newStore(storage), BASE_URL, model.manifest, {
    fetch: new FakeModelServer(model).fetch,
  });
  assert.equal(storage.persistCalls, 1);
  assert.equal(result.persisted, true);
});

void test('two tabs downloading one model: each file is fetched once, and once one finishes the model stays whole', async () => {
  // Two stores over one backend are two tabs over one IndexedDB; both start before either has a piece.
  const backend = memoryBackend();
  const [first, second] = [0, 1].map(() => new ModelStore(backend, { pieceBytes: PIECE }));
  const [firstServer, secondServer] = [0, 1].map(() => new FakeModelServer(model, { chunkBytes: 100 }));
  const firstDone = downloadModel(first!, BASE_URL, model.manifest, { fetch: firstServer!.fetch }).then(async (r) => {
    assert.equal((await first!.status(model.manifest)).complete, true, 'whole as soon as the first download ends');
    return r;
  });
  const secondDone = downloadModel(second!, BASE_URL, model.manifest, { fetch: secondServer!.fetch });
  const [a, b] = await Promise.all([firstDone, secondDone]);
  assert.equal(a.downloadedBytes + b.downloadedBytes, totalBytes(model), 'no byte fetched twice');
  await assertStoredIntact(first!);
  await assertStoredIntact(second!);
});

void test('stopping a download that waits for another tab’s ends the wait at once', async () => {
  const backend = memoryBackend();
  const [first, second] = [0, 1].map(() => new ModelStore(backend, { pieceBytes: PIECE }));
  const stalled = new FakeModelServer(model, { chunkBytes: 100 });
  const firstStop = new AbortController();
  const firstDone = downloadModel(first!, BASE_URL, model.manifest, { fetch: stalled.fetch, signal: firstStop.signal });
  const secondStop = new AbortController();
  const secondDone = downloadModel(second!, BASE_URL, model.manifest, {
    fetch: new FakeModelServer(model).fetch,
    signal: secondStop.signal,
  });
  await new Promise((resolve) => setTimeout(resolve, 0));
  secondStop.abort();
  await assert.rejects(secondDone, DownloadCancelledError);
  firstStop.abort();
  await assert.rejects(firstDone, DownloadCancelledError);
});
