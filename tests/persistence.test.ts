/**
 * When the page asks for persistent storage (src/ui/persistence.ts): on consent always, without
 * consent once per browser.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ASKED_KEY, askPersistence } from '../src/ui/persistence.ts';
import type { FlagStorage } from '../src/ui/persistence.ts';
import type { StorageManagerLike } from '../src/store/storage-quota.ts';

/** Chromium's answer without engagement: no prompt, persist() resolves false. */
function fakeStorage(grant = false): StorageManagerLike & { asked: number } {
  let persisted = false;
  return {
    asked: 0,
    persist() {
      this.asked++;
      persisted = grant;
      return Promise.resolve(grant);
    },
    persisted: () => Promise.resolve(persisted),
  };
}

function fakeFlags(): FlagStorage & { values: Map<string, string> } {
  const values = new Map<string, string>();
  return { values, getItem: (key) => values.get(key) ?? null, setItem: (key, value) => void values.set(key, value) };
}

void test('a model stored without consent asks once per browser, however often it is stored again', async () => {
  const storage = fakeStorage();
  const flags = fakeFlags();
  assert.equal(await askPersistence('stored', storage, flags), false);
  assert.equal(await askPersistence('stored', storage, flags), false);
  assert.equal(await askPersistence('stored', fakeStorage(), flags), false, 'a new page load, same browser');
  assert.equal(storage.asked, 1);
  assert.ok(flags.values.has(ASKED_KEY));
});

void test('agreeing to a download always asks; a granted browser is not asked again without consent', async () => {
  const storage = fakeStorage(true);
  const flags = fakeFlags();
  assert.equal(await askPersistence('consent', storage, flags), true);
  assert.equal(await askPersistence('consent', storage, flags), true);
  assert.equal(await askPersistence('stored', storage, flags), true);
  assert.equal(storage.asked, 1, 'granted: persisted() answers, persist() is not called again');
  assert.equal(flags.values.has(ASKED_KEY), false);
});

void test('without a place to remember the question (storage blocked), a model stored without consent never asks', async () => {
  const storage = fakeStorage();
  const blocked: FlagStorage = {
    getItem: () => {
      throw new DOMException('blocked', 'SecurityError');
    },
    setItem: () => undefined,
  };
  assert.equal(await askPersistence('stored', storage, blocked), false);
  assert.equal(await askPersistence('stored', storage, undefined), false);
  assert.equal(storage.asked, 0);
});

void test('a browser without the Storage API has no answer', async () => {
  assert.equal(await askPersistence('consent', undefined, fakeFlags()), undefined);
  assert.equal(await askPersistence('stored', {}, fakeFlags()), undefined);
});
