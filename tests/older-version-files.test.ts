/**
 * The service worker keeps an older version's files while a page of that version is open
 * (src/service-worker/older-versions.ts), on fake pages and storage; e2e/offline-shell.spec.ts runs it in Chromium.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cachedPageIds, OlderVersionFiles, unlistedKeys } from '../src/service-worker/older-versions.ts';
import type { CacheStorageLike, PageIdStore } from '../src/service-worker/older-versions.ts';

/** Open windows by id, a stored list and a count of deletions. */
function setup(open: string[]) {
  const windows = new Set(open);
  let stored: readonly string[] = [];
  let deletions = 0;
  const store: PageIdStore = {
    read: () => Promise.resolve(stored),
    write: (ids) => {
      stored = [...ids];
      return Promise.resolve();
    },
  };
  const files = new OlderVersionFiles(
    { list: () => Promise.resolve([...windows]), isOpen: (id) => Promise.resolve(windows.has(id)) },
    store,
    () => {
      deletions += 1;
      return Promise.resolve();
    },
  );
  return { files, windows, stored: () => stored, deletions: () => deletions };
}

void test('taking over while pages are open deletes nothing; their files go once the last of them has closed', async () => {
  const { files, windows, stored, deletions } = setup(['old-a', 'old-b']);
  await files.activated();
  assert.deepEqual(stored(), ['old-a', 'old-b']);
  assert.equal(deletions(), 0);

  windows.delete('old-a');
  windows.add('new-a'); // a tab reloaded into the new version is a new page
  await files.check();
  assert.deepEqual(stored(), ['old-b'], 'a page opened after the take-over is not waited for');
  assert.equal(deletions(), 0);

  windows.delete('old-b');
  await files.check();
  assert.deepEqual(stored(), []);
  assert.equal(deletions(), 1);
});

void test('when the pages to wait for are unknown (a failed write), a check waits for those open then', async () => {
  const windows = new Set(['old']);
  let stored: readonly string[] | undefined;
  let deletions = 0;
  const files = new OlderVersionFiles(
    { list: () => Promise.resolve([...windows]), isOpen: (id) => Promise.resolve(windows.has(id)) },
    {
      read: () => Promise.resolve(stored),
      write: (ids) => {
        stored = [...ids];
        return Promise.resolve();
      },
    },
    () => {
      deletions += 1;
      return Promise.resolve();
    },
  );
  await files.check();
  assert.equal(deletions, 0, 'the old page may still load its files');
  assert.deepEqual(stored, ['old']);
  windows.delete('old');
  await files.check();
  assert.equal(deletions, 1);
});

void test('taking over with no page open deletes at once', async () => {
  const { files, stored, deletions } = setup([]);
  await files.activated();
  assert.equal(deletions(), 1);
  assert.deepEqual(stored(), []);
});

void test('a second update while an older page is open waits for the pages of both older versions', async () => {
  const { files, windows, stored, deletions } = setup(['v1']);
  await files.activated(); // v2 takes over; v1's page stays open
  windows.add('v2');
  await files.activated(); // v3 takes over
  assert.deepEqual(stored(), ['v1', 'v2']);
  windows.delete('v2');
  await files.check();
  assert.equal(deletions(), 0, 'the v1 page may still load its files');
  windows.delete('v1');
  await files.check();
  assert.equal(deletions(), 1);
});

void test('overlapping calls run one after the other, and one that fails does not stop the next', async () => {
  const log: string[] = [];
  let failRead = true;
  const files = new OlderVersionFiles(
    { list: () => Promise.resolve(['a']), isOpen: () => Promise.resolve(true) },
    {
      read: async () => {
        log.push('read');
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (failRead) {
          failRead = false;
          throw new Error('storage error');
        }
        return ['a'];
      },
      write: async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        log.push('write');
      },
    },
    () => Promise.resolve(),
  );
  const calls = [files.check(), files.activated(), files.check()];
  const [failed, ...rest] = await Promise.allSettled(calls);
  assert.equal(failed?.status, 'rejected');
  assert.deepEqual(
    rest.map((result) => result.status),
    ['fulfilled', 'fulfilled'],
  );
  // Each call reads the list only after the call before it has written (or failed): never read, read, write. The
  // last check finds the same page open and writes nothing.
  assert.deepEqual(log, ['read', 'read', 'write', 'read']);
});

void test('the files to delete are the cached keys this version does not list', () => {
  const listed = new Set(['https://h/index.html?__WB_REVISION__=2', 'https://h/assets/app-new.js']);
  assert.deepEqual(
    unlistedKeys(
      [
        'https://h/index.html?__WB_REVISION__=1',
        'https://h/index.html?__WB_REVISION__=2',
        'https://h/assets/app-new.js',
      ],
      listed,
    ),
    ['https://h/index.html?__WB_REVISION__=1'],
  );
});

void test('with nothing waited for, a check reads the list and does nothing more', async () => {
  const { files, deletions } = setup(['new']);
  let writes = 0;
  const quiet = new OlderVersionFiles(
    { list: () => Promise.resolve(['new']), isOpen: () => Promise.resolve(true) },
    {
      read: () => Promise.resolve([]),
      write: () => {
        writes++;
        return Promise.resolve();
      },
    },
    () => Promise.reject(new Error('nothing to delete')),
  );
  await quiet.check();
  assert.equal(writes, 0);
  await files.check();
  assert.equal(deletions(), 0);
});

void test('the ids are kept as JSON in Cache Storage; none stored, or unreadable, is unknown, not "none open"', async () => {
  const entries = new Map<string, Response>();
  const caches: CacheStorageLike = {
    open: () =>
      Promise.resolve({
        match: (key: string) => Promise.resolve(entries.get(key)?.clone()),
        put: (key: string, response: Response) => (entries.set(key, response), Promise.resolve()),
      }),
  };
  const store = cachedPageIds(caches, 'older-version-pages', 'https://h/older-version-pages.json');
  assert.equal(await store.read(), undefined);
  await store.write(['a', 'b']);
  assert.deepEqual(await store.read(), ['a', 'b']);
  assert.equal(entries.get('https://h/older-version-pages.json')?.headers.get('content-type'), 'application/json');
  entries.set('https://h/older-version-pages.json', new Response('not json'));
  assert.equal(await store.read(), undefined);
  entries.set('https://h/older-version-pages.json', new Response('{"ids": 1}'));
  assert.equal(await store.read(), undefined);
});
