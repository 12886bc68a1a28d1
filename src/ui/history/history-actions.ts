/**
 * The history's actions: open it (IndexedDB, or memory with a notice), add a finished drawing
 * (thumbnails made after the grid is shown, off the drawing's path), reopen one (fills the prompt
 * and settings, picks its model, and draws the same images from its seed), delete one or all.
 */
import { describeError } from '../error-text.ts';
import type { GenerateResult } from '../../worker/protocol.ts';
import type { Controller } from '../controller.ts';
import { t } from '../i18n.ts';
import { thumbnail } from '../image-files.ts';
import { activeModel, choiceFor } from '../sampling-choice.ts';
import { rankingOf } from '../settings.ts';
import { setSettings, useAppStore } from '../store.ts';
import type { Drawing } from '../store.ts';
import { memoryHistory, openHistoryDb } from './history-db.ts';
import type { HistoryDb } from './history-db.ts';
import { newestFirst, newRecord, overflow, readRecord } from './records.ts';
import type { HistoryRecord } from './records.ts';

export interface HistoryActions {
  open(): Promise<void>;
  record(drawing: Drawing, result: GenerateResult): Promise<void>;
  reopen(record: HistoryRecord): Promise<void>;
  remove(id: string): Promise<void>;
  clearAll(): Promise<void>;
}

/** In the page's language where the error is one a visitor meets (error-text.ts). */
const messageOf = describeError;

/** Waits until the browser is idle (or a moment has passed), so thumbnails never delay the grid. */
function idle(): Promise<void> {
  return new Promise((resolve) => {
    if ('requestIdleCallback' in globalThis) requestIdleCallback(() => resolve(), { timeout: 2000 });
    else setTimeout(resolve, 50);
  });
}

export function createHistoryActions(
  controller: Controller,
  openDb: () => Promise<{ db: HistoryDb; reason: string | null }> = openHistoryDb,
): HistoryActions {
  const store = useAppStore;
  let db: HistoryDb = memoryHistory();
  let opened: Promise<void> | null = null;

  async function refresh(): Promise<void> {
    const stored = await db.all();
    const records = stored.map(readRecord).filter((r): r is HistoryRecord => r !== null);
    store.setState({ history: newestFirst(records) });
  }

  async function guarded(action: () => Promise<void>): Promise<void> {
    try {
      await opened;
      await action();
    } catch (error) {
      store.setState({ error: t('history.failed', { detail: messageOf(error) }) });
    }
  }

  const actions: HistoryActions = {
    open() {
      opened ??= (async () => {
        const { db: chosen, reason } = await openDb();
        db = chosen;
        store.setState({ historyStorage: reason === null ? { kind: 'indexeddb' } : { kind: 'memory', reason } });
        await refresh().catch((error: unknown) => {
          store.setState({ error: t('history.failed', { detail: messageOf(error) }) });
        });
      })();
      return opened;
    },

    record(drawing, result) {
      return guarded(async () => {
        await idle();
        const thumbnails = await Promise.all(
          result.images.map((rgba) => thumbnail(rgba, result.imageSize).catch(() => null)),
        );
        const record = newRecord(
          drawing,
          Date.now(),
          thumbnails.filter((t): t is string => t !== null),
        );
        await db.put(record.id, record);
        const old = overflow([record, ...store.getState().history]);
        if (old.length > 0) await db.delete(old);
        await refresh();
      });
    },

    async reopen(record) {
      const { catalog, selectedModel } = store.getState();
      store.setState({ prompt: record.prompt });
      // The model it was drawn with is about to be picked again, when the catalog still has it.
      const model = catalog.find((m) => m.id === record.model) ?? activeModel(store.getState());
      setSettings({
        ...choiceFor(record.sampling, store.getState().settings, model),
        count: record.count,
        seedText: String(record.seed),
        seedLocked: true,
        ...rankingOf(record.candidates),
      });
      if (record.model !== null && record.model !== selectedModel && catalog.some((m) => m.id === record.model)) {
        // Loads it (or asks before a download); the visitor presses Draw once it is ready.
        await controller.selectModel(record.model);
      }
      if (store.getState().phase === 'ready') await controller.draw();
    },

    remove(id) {
      return guarded(async () => {
        await db.delete([id]);
        await refresh();
      });
    },

    clearAll() {
      return guarded(async () => {
        await db.clear();
        await refresh();
      });
    },
  };
  return actions;
}
