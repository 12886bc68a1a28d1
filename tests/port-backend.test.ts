/**
 * The store backend served over a MessagePort (the embed's Storage Access path): calls, transfers,
 * errors (quota kept recognisable) and an IndexedDB on a given factory instead of the global one.
 */
import 'fake-indexeddb/auto'; // IDBKeyRange, as in a browser
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { IDBFactory } from 'fake-indexeddb';
import { downloadModel } from '../src/store/download.ts';
import { StorageQuotaError } from '../src/store/errors.ts';
import { ModelStore } from '../src/store/model-store.ts';
import { indexedDbBackend, isQuotaExceeded, memoryBackend } from '../src/store/piece-store.ts';
import type { StoreBackend } from '../src/store/piece-store.ts';
import { portBackend, serveBackend } from '../src/store/port-backend.ts';
import type { BackendPort } from '../src/store/port-backend.ts';
import { storeModelSource } from '../src/store/store-model-source.ts';
import { BASE_URL, FakeModelServer, syntheticModel } from './helpers/store-fixtures.ts';

const open: MessagePort[] = [];
after(() => open.forEach((port) => port.close())); // an open port keeps the test process alive

/** Serves `served` on one end of a fresh channel and returns the port backend on the other. */
function overPort(served: StoreBackend): StoreBackend {
  const { port1, port2 } = new MessageChannel();
  open.push(port1, port2);
  serveBackend(port1 as unknown as BackendPort, served);
  return portBackend(port2 as unknown as BackendPort);
}

void test('the five calls cross the port; values are copies, the caller keeps its arrays', async () => {
  const backend = overPort(indexedDbBackend('port-test', new IDBFactory()));
  assert.equal(backend.kind, 'indexeddb');
  const bytes = new Uint8Array([1, 2, 3]);
  await backend.put([
    ['a/1', bytes],
    ['a/2', new Uint8Array([4])],
    ['b/1', new Uint8Array([5])],
  ]);
  assert.deepEqual([...bytes], [1, 2, 3], 'put transferred a copy, not the caller’s buffer');
  assert.deepEqual(await backend.get('a/1'), new Uint8Array([1, 2, 3]));
  assert.equal(await backend.get('missing'), undefined);
  assert.deepEqual((await backend.keys('a/')).sort(), ['a/1', 'a/2']);
  await backend.delete(['a/1']);
  assert.deepEqual(await backend.keys('a/'), ['a/2']);
  await backend.clear();
  assert.deepEqual(await backend.keys(''), []);
});

void test('an IndexedDB backend on a given factory leaves the global one alone', async () => {
  const factory = new IDBFactory();
  await indexedDbBackend('own-factory', factory).put([['k', new Uint8Array([9])]]);
  assert.deepEqual(await indexedDbBackend('own-factory', factory).get('k'), new Uint8Array([9]));
  assert.equal(await indexedDbBackend('own-factory', new IDBFactory()).get('k'), undefined);
});

void test('errors cross by name: a full disk is still a quota error, others keep their message', async () => {
  const full: StoreBackend = {
    ...memoryBackend(),
    kind: 'indexeddb',
    put: () => Promise.reject(new DOMException('disk full', 'QuotaExceededError')),
    get: () => Promise.reject(new Error('broken read')),
  };
  const backend = overPort(full);
  const error = await backend.put([['k', new Uint8Array(1)]]).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(isQuotaExceeded(error));
  await assert.rejects(backend.get('k'), /broken read/);
});

void test('a model downloads through the port, reads back, and a full disk mid-way is StorageQuotaError', async () => {
  const model = syntheticModel('dalle-mini', 1);
  const store = new ModelStore(overPort(indexedDbBackend('port-model', new IDBFactory())), {
    pieceBytes: 1024,
    storage: undefined,
  });
  await downloadModel(store, BASE_URL, model.manifest, { fetch: new FakeModelServer(model).fetch });
  const source = storeModelSource(store, model.manifest);
  for (const [path, bytes] of model.files) assert.deepEqual(await source.readFile(path), bytes);

  const inner = memoryBackend();
  const full = overPort({
    ...inner,
    put: () => Promise.reject(new DOMException('disk full', 'QuotaExceededError')),
  });
  const fullStore = new ModelStore(full, { pieceBytes: 1024, storage: undefined });
  await assert.rejects(
    downloadModel(fullStore, BASE_URL, model.manifest, { fetch: new FakeModelServer(model).fetch }),
    StorageQuotaError,
  );
});
