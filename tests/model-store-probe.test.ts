/**
 * Storage-denied detection and the memory fallback. fake-indexeddb is installed as the global
 * IndexedDB only from the second test on: the first sees Node as it is, with no IndexedDB at all.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IDBKeyRange as FakeKeyRange, indexedDB as fakeIndexedDB } from 'fake-indexeddb';
import { downloadModel } from '../src/store/download.ts';
import { indexedDbBackend, memoryBackend } from '../src/store/piece-store.ts';
import type { StoreBackend } from '../src/store/piece-store.ts';
import { openModelStore, probeStorage } from '../src/store/storage-probe.ts';
import { storeModelSource } from '../src/store/store-model-source.ts';
import { BASE_URL, FakeModelServer, syntheticModel } from './helpers/store-fixtures.ts';

/** IndexedDB as a cross-site iframe with third-party storage blocked sees it: present, but every call fails. */
function deniedBackend(): StoreBackend {
  const denied = () =>
    Promise.reject(new DOMException('The user denied permission to access the database.', 'UnknownError'));
  return { kind: 'indexeddb', get: denied, put: denied, delete: denied, keys: denied, clear: denied };
}

void test('no IndexedDB at all: the memory store, and the reason', async () => {
  const { store, storage } = await openModelStore();
  assert.equal(store.kind, 'memory');
  assert.equal(storage.kind, 'memory');
  assert.match(storage.kind === 'memory' ? storage.reason : '', /no IndexedDB/);
});

void test('IndexedDB that works passes the probe, which leaves no key behind', async () => {
  Object.assign(globalThis, { indexedDB: fakeIndexedDB, IDBKeyRange: FakeKeyRange });
  const backend = indexedDbBackend('probe-test');
  assert.deepEqual(await probeStorage(backend), { ok: true });
  assert.deepEqual(await backend.keys(''), []);
  const { store, storage } = await openModelStore({ openBackend: () => indexedDbBackend('probe-test-2') });
  assert.deepEqual(storage, { kind: 'indexeddb' });
  assert.equal(store.kind, 'indexeddb');
});

void test('storage denied (IndexedDB throws on use): falls back to memory, says why, and the app still runs from it', async () => {
  assert.deepEqual(await probeStorage(deniedBackend()), {
    ok: false,
    reason: 'UnknownError: The user denied permission to access the database.',
  });
  const { store, storage } = await openModelStore({ openBackend: deniedBackend, pieceBytes: 1024 });
  assert.equal(store.kind, 'memory');
  assert.ok(
    storage.kind === 'memory' && /denied permission/.test(storage.reason) && /runs from memory/.test(storage.notice),
  );
  assert.equal(store.storage, undefined, 'the browser quota does not apply to memory');

  const model = syntheticModel('dalle-mini', 1);
  await downloadModel(store, BASE_URL, model.manifest, { fetch: new FakeModelServer(model).fetch });
  assert.deepEqual(await storeModelSource(store, model.manifest).readFile('vocab.json'), model.files.get('vocab.json'));
  assert.deepEqual((await store.usage()).kind, 'memory');
});

void test('a storage that never answers (a hung open) is given up on after the timeout', async () => {
  const hung: StoreBackend = { ...memoryBackend(), kind: 'indexeddb', put: () => new Promise<void>(() => undefined) };
  const probe = await probeStorage(hung, 20);
  assert.deepEqual(probe, { ok: false, reason: 'no answer from storage within 20 ms' });
});

void test('a storage that loses what it was given fails the probe', async () => {
  const forgetful: StoreBackend = { ...memoryBackend(), get: () => Promise.resolve(undefined) };
  assert.equal((await probeStorage(forgetful)).ok, false);
});
