/**
 * Where the settings persist (src/ui/settings-storage.ts): a browser that refuses to store them (storage full,
 * blocked) leaves them in memory for the visit, and nothing throws back into the store.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create } from 'zustand';
import { createJSONStorage, persist } from 'zustand/middleware';
import type { StateStorage } from 'zustand/middleware';
import { settingsStorage } from '../src/ui/settings-storage.ts';

/** A localStorage holding `values`, whose writes throw once `full` is set. */
function fakeLocal(): StateStorage & { values: Map<string, string>; full: boolean; writes: number } {
  const values = new Map<string, string>();
  return {
    values,
    full: false,
    writes: 0,
    getItem: (key) => values.get(key) ?? null,
    setItem(key, value) {
      this.writes++;
      if (this.full) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      values.set(key, value);
    },
    removeItem: (key) => void values.delete(key),
  };
}

void test('a full storage: the settings go on in memory, the refusal is told once, and nothing throws', () => {
  const local = fakeLocal();
  const refused: unknown[] = [];
  const storage = settingsStorage(
    () => local,
    (error) => refused.push(error),
  );
  storage.setItem('k', 'a');
  assert.equal(local.values.get('k'), 'a');
  local.full = true;
  assert.doesNotThrow(() => storage.setItem('k', 'b'));
  assert.equal(storage.getItem('k'), 'b', 'read back from memory');
  storage.setItem('k', 'c');
  assert.equal(storage.getItem('k'), 'c');
  assert.equal(refused.length, 1);
  assert.equal((refused[0] as DOMException).name, 'QuotaExceededError');
  assert.equal(local.writes, 2, 'after the refusal the disk is not asked again this visit');
  assert.equal(local.values.get('k'), 'a', 'what was stored stays for the next visit');
});

void test('an unchanged value is not written again (the store writes after every state change)', () => {
  const local = fakeLocal();
  const storage = settingsStorage(
    () => local,
    () => undefined,
  );
  storage.setItem('k', 'a');
  storage.setItem('k', 'a');
  assert.equal(local.writes, 1);
});

void test('storage blocked: memory from the start, told once; no localStorage at all (Node): nothing to tell', () => {
  const refused: unknown[] = [];
  const blocked = settingsStorage(
    () => {
      throw new DOMException('blocked', 'SecurityError');
    },
    (error) => refused.push(error),
  );
  const missing = settingsStorage(
    () => undefined,
    (error) => refused.push(error),
  );
  for (const storage of [blocked, missing]) {
    storage.setItem('k', 'a');
    storage.setItem('k', 'b');
    assert.equal(storage.getItem('k'), 'b');
  }
  assert.deepEqual(
    refused.map((error) => (error as DOMException).name),
    ['SecurityError'],
  );
});

void test("with zustand's persist, a refused write does not throw out of setState", () => {
  const local = fakeLocal();
  local.full = true;
  let told = 0;
  const useStore = create<{ count: number }>()(
    persist(() => ({ count: 1 }), {
      name: 'settings',
      storage: createJSONStorage(() =>
        settingsStorage(
          () => local,
          () => void told++,
        ),
      ),
    }),
  );
  assert.doesNotThrow(() => useStore.setState({ count: 2 }));
  assert.equal(useStore.getState().count, 2);
  assert.equal(told, 1);
});
