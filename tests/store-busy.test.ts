/**
 * A delete in one tab while another tab of the site downloads a model, or creates sessions from its stored files, is
 * refused: it would take the files from under it.
 */
import 'fake-indexeddb/auto';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { downloadModel } from '../src/store/download.ts';
import { StoreBusyError } from '../src/store/errors.ts';
import { ModelStore } from '../src/store/model-store.ts';
import { indexedDbBackend } from '../src/store/piece-store.ts';
import { tinyModel } from './helpers/fixtures.ts';
import { serveFolder, testLibrary } from './helpers/library.ts';
import { BASE_URL, FakeModelServer, syntheticModel } from './helpers/store-fixtures.ts';

/** The Web Locks API's shared and exclusive modes and ifAvailable, as one origin's tabs see them. */
function fakeLocks() {
  const held = new Map<string, number>();
  return {
    async request<T>(
      name: string,
      options: { mode?: 'shared' | 'exclusive'; ifAvailable?: boolean },
      work: (lock: unknown) => Promise<T>,
    ): Promise<T> {
      const busy = (held.get(name) ?? 0) > 0;
      if (options.mode === 'exclusive' && options.ifAvailable && busy) return work(null);
      held.set(name, (held.get(name) ?? 0) + 1);
      try {
        return await work({ name });
      } finally {
        held.set(name, held.get(name)! - 1);
      }
    },
  };
}

function withFakeLocks(run: () => Promise<void>): () => Promise<void> {
  return async () => {
    Object.defineProperty(globalThis, 'navigator', { value: { locks: fakeLocks() }, configurable: true });
    try {
      await run();
    } finally {
      Reflect.deleteProperty(globalThis, 'navigator');
    }
  };
}

void test(
  'deleting while another tab downloads is refused with a message; afterwards it deletes',
  withFakeLocks(async () => {
    const mini = syntheticModel('dalle-mini', 1);
    const other = syntheticModel('dalle-mega', 2);
    const backend = indexedDbBackend('store-busy');
    // Two tabs: two stores over one database.
    const downloading = new ModelStore(backend, { pieceBytes: 1024, storage: undefined });
    const deleting = new ModelStore(backend, { pieceBytes: 1024, storage: undefined });
    await downloadModel(deleting, BASE_URL, other.manifest, { fetch: new FakeModelServer(other).fetch });
    let resume = (): void => undefined;
    const stalled = new Promise<void>((resolve) => (resume = resolve));
    const server = new FakeModelServer(mini);
    const download = downloadModel(downloading, BASE_URL, mini.manifest, {
      fetch: async (url, init) => (await stalled, server.fetch(url, init)),
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await assert.rejects(deleting.deleteModel('dalle-mini/q8'), StoreBusyError);
    await assert.rejects(deleting.deleteAll(), StoreBusyError);
    resume();
    await download;
    assert.equal((await downloading.status(mini.manifest)).complete, true, 'the download was not disturbed');
    assert.ok((await deleting.deleteModel('dalle-mini/q8')) > 0);
  }),
);

void test(
  'deleting while another tab creates sessions from the stored files is refused, until that load ends either way',
  withFakeLocks(async () => {
    const base = 'https://models.test/tiny/';
    const backend = indexedDbBackend('store-busy-load');
    const loading = testLibrary(serveFolder(tinyModel('fp32'), base), backend);
    const deleting = testLibrary(serveFolder(tinyModel('fp32'), base), backend);
    const manifest = await loading.manifest(base);
    for (const loaded of [false, true]) {
      const opened = await loading.open(base, manifest);
      const [stored] = (await deleting.storage({ action: 'list' })).models;
      assert.equal(stored?.complete, true, 'downloaded; the sessions are being made from the files');
      await assert.rejects(deleting.storage({ action: 'delete', model: stored.id }), StoreBusyError);
      await assert.rejects(deleting.storage({ action: 'delete-all' }), StoreBusyError);
      await opened.close({ loaded });
    }
    const after = await deleting.storage({ action: 'delete-all' });
    assert.deepEqual(after.models, [], 'deleted once no load holds the files');
  }),
);
