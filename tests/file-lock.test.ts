/** One writer per stored file: Web Locks across tabs where the browser allows them, a lock of this realm otherwise. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withFileLock } from '../src/store/file-lock.ts';
import { DownloadCancelledError } from '../src/store/errors.ts';

const SHA = 'ab'.repeat(32);

/** Runs `body` with `navigator.locks` set to `locks` (Node has none of its own). */
async function withLocks(locks: unknown, body: () => Promise<void>): Promise<void> {
  const had = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  Object.defineProperty(globalThis, 'navigator', { value: { locks }, configurable: true });
  try {
    await body();
  } finally {
    if (had) Object.defineProperty(globalThis, 'navigator', had);
    else Reflect.deleteProperty(globalThis, 'navigator');
  }
}

void test('where the Locks API is refused (a storage-blocked frame) the realm lock still serialises writers', async () => {
  const refused = {
    request: () => Promise.reject(new DOMException('access to the Locks API is denied', 'SecurityError')),
  };
  await withLocks(refused, async () => {
    const order: string[] = [];
    const write = (name: string) =>
      withFileLock(SHA, true, undefined, async () => {
        order.push(`${name} start`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        order.push(`${name} end`);
      });
    await Promise.all([write('a'), write('b')]);
    assert.deepEqual(order, ['a start', 'a end', 'b start', 'b end']);
  });
});

void test('a store in memory never asks the Locks API: no other tab can see it', async () => {
  let asked = 0;
  await withLocks({ request: () => (asked++, Promise.reject(new Error('not expected'))) }, async () => {
    assert.equal(await withFileLock(SHA, false, undefined, () => Promise.resolve(7)), 7);
  });
  assert.equal(asked, 0);
});

void test('a wait for another writer ends at once when its download is stopped; what the writer does goes on', async () => {
  let release = (): void => undefined;
  const holder = withFileLock(SHA, false, undefined, () => new Promise<void>((resolve) => (release = resolve)));
  const stop = new AbortController();
  const waiting = withFileLock(SHA, false, stop.signal, () => Promise.resolve('ran'));
  stop.abort();
  await assert.rejects(waiting, DownloadCancelledError);
  // A writer arriving after the one that gave up still waits for the holder.
  const order: string[] = [];
  const next = withFileLock(SHA, false, undefined, () => Promise.resolve(order.push('next')));
  await new Promise((resolve) => setTimeout(resolve, 5));
  order.push('holder still writing');
  release();
  await holder;
  await next;
  assert.deepEqual(order, ['holder still writing', 'next']);
  assert.equal(await withFileLock(SHA, false, undefined, () => Promise.resolve('free')), 'free');
});
