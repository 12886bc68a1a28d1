/**
 * The history's actions: open it (IndexedDB, or memory with a notice), add a finished drawing
 * (thumbnails made after the grid is shown, off the drawing's path), reopen one (fills the prompt
 * and settings, picks its model, and draws the same images from its seed), delete one or all. Tabs of the app tell
 * each other when the stored history changes.
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
import type { HistoryDb, StorageProblem } from './history-db.ts';
import { isDrawingEntry, isThumbnail, newestFirst, newRecord, overflow, readRecord } from './records.ts';
import type { HistoryRecord } from './records.ts';

/** What changed in the stored history: drawings kept or deleted, or all of them deleted. */
export type HistoryChange = 'changed' | 'cleared';

/** Tells the app's other tabs that the stored history changed, and hears theirs. */
export interface HistoryChannel {
  announce(change: HistoryChange): void;
  onChange(listener: (change: HistoryChange) => void): void;
}

/** A BroadcastChannel between the app's tabs; none outside a page (Node has no other tabs to tell). */
export function tabsHistoryChannel(): HistoryChannel {
  if (typeof document === 'undefined' || typeof BroadcastChannel === 'undefined') {
    return { announce: () => undefined, onChange: () => undefined };
  }
  const channel = new BroadcastChannel('dalle-mini-web:history');
  return {
    announce: (change) => channel.postMessage(change),
    onChange: (listener) =>
      channel.addEventListener('message', ({ data }: MessageEvent<unknown>) =>
        listener(data === 'cleared' ? 'cleared' : 'changed'),
      ),
  };
}

export interface HistoryActions {
  open(): Promise<void>;
  record(drawing: Drawing, result: GenerateResult): Promise<void>;
  reopen(record: HistoryRecord): Promise<void>;
  /** Whether it was deleted (a failure is shown as the page's error). */
  remove(id: string): Promise<boolean>;
  clearAll(): Promise<boolean>;
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
  openDb: () => Promise<{ db: HistoryDb; problem: StorageProblem | null }> = openHistoryDb,
  tabs: HistoryChannel = tabsHistoryChannel(),
): HistoryActions {
  const store = useAppStore;
  let db: HistoryDb = memoryHistory();
  let opened: Promise<void> | null = null;

  async function refresh(): Promise<void> {
    const stored = (await db.all()).filter(isDrawingEntry);
    const records = stored.map(readRecord).filter((r): r is HistoryRecord => r !== null);
    // Written by a newer version of the app (another tab), or damaged: kept, not listed, counted so the panel says so.
    store.setState({ history: newestFirst(records), historyUnreadable: stored.length - records.length });
  }

  /** Counts "delete all": a drawing finished before one is not kept after it (its thumbnails were still being made). */
  let clearings = 0;

  async function guarded(action: () => Promise<void>): Promise<boolean> {
    try {
      await opened;
      await action();
      return true;
    } catch (error) {
      // The origin's quota is shared with the stored models: either makes room.
      const full = error instanceof DOMException && error.name === 'QuotaExceededError';
      store.setState({ error: full ? t('history.full') : t('history.failed', { detail: messageOf(error) }) });
      return false;
    }
  }

  const actions: HistoryActions = {
    open() {
      opened ??= (async () => {
        const { db: chosen, problem } = await openDb();
        db = chosen;
        store.setState({ historyStorage: problem === null ? { kind: 'indexeddb' } : { kind: 'memory', problem } });
        // Another tab kept or deleted drawings in the same database: list what it holds now.
        if (chosen.kind === 'indexeddb') {
          tabs.onChange((change) => {
            // A drawing of this tab still being kept is not brought back after another tab's "delete all" either.
            if (change === 'cleared') clearings++;
            void refresh().catch(() => undefined);
          });
        }
        await refresh().catch((error: unknown) => {
          store.setState({ error: t('history.failed', { detail: messageOf(error) }) });
        });
      })();
      return opened;
    },

    async record(drawing, result) {
      const clearingsBefore = clearings;
      await guarded(async () => {
        await idle();
        const thumbnails = await Promise.all(
          result.images.map((rgba) => thumbnail(rgba, result.imageSize).catch(() => null)),
        );
        if (clearings !== clearingsBefore) return;
        const record = newRecord(
          drawing,
          Date.now(),
          thumbnails.filter((t): t is string => t !== null && isThumbnail(t)),
        );
        await db.put(record.id, record);
        const old = overflow([record, ...store.getState().history]);
        if (old.length > 0) await db.delete(old);
        tabs.announce('changed');
        await refresh();
      });
    },

    async reopen(record) {
      const { catalog, selectedModel, unavailable } = store.getState();
      // A notice of an earlier "Draw again" is about that one.
      store.setState({ prompt: record.prompt, notice: null });
      const drawnWith = catalog.find((m) => m.id === record.model);
      const cannotRun = drawnWith === undefined ? undefined : unavailable[drawnWith.id];
      // The model it was drawn with is picked again when this site still offers it and this device can run it.
      const pickable = drawnWith !== undefined && cannotRun === undefined;
      const model = pickable ? drawnWith : activeModel(store.getState());
      setSettings({
        ...choiceFor(record.sampling, store.getState().settings, model),
        count: record.count,
        seedText: String(record.seed),
        seedLocked: true,
        ...rankingOf(record.candidates),
      });
      if (record.model !== null && record.model !== selectedModel) {
        if (!pickable) {
          // The model loaded stays. Its images would not be the ones kept: the visitor decides whether to draw them.
          const notice =
            drawnWith === undefined
              ? t('history.modelGone', { model: record.modelId })
              : t('history.modelCannotRun', { model: drawnWith.name, reason: cannotRun });
          store.setState({ notice });
          return;
        }
        // Loads it (or asks before a download); the visitor presses Draw once it is ready.
        await controller.selectModel(record.model);
      }
      if (store.getState().phase === 'ready') await controller.draw();
    },

    remove(id) {
      return guarded(async () => {
        await db.delete([id]);
        tabs.announce('changed');
        await refresh();
      });
    },

    clearAll() {
      clearings++;
      return guarded(async () => {
        await db.clear();
        tabs.announce('cleared');
        await refresh();
      });
    },
  };
  return actions;
}
