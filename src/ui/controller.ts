/**
 * The actions that talk to the generator (the worker client) and write the outcome to the store.
 * Every busy phase ends in `finally`, so an error never leaves the UI stuck on "generating".
 */
import { GenerationCancelledError } from '../pipeline/errors.ts';
import type { DalleGenerator } from '../worker/client.ts';
import { checkPromptText } from '../text/prompt-checks.ts';
import { parseSeedText } from './seed-text.ts';
import type { GenerateResult, LoadParams, LoadProgress, MosaicColors } from '../worker/protocol.ts';
import { MosaicPreview } from '../pipeline/mosaic.ts';
import { DownloadCancelledError } from '../store/errors.ts';
import { describeError } from './error-text.ts';
import { t } from './i18n.ts';
import { createModelActions, needsNewWorker } from './model-actions.ts';
import type { ModelActions, WorkerSlot } from './model-actions.ts';
import { loadProgressLabel } from './model-choice.ts';
import { activeModel, choiceFor, effectiveSampling } from './sampling-choice.ts';
import { randomSeed, rankingOf } from './settings.ts';
import { setSettings, useAppStore } from './store.ts';
import type { Drawing, DownloadView } from './store.ts';
import { createRankingActions } from './ranking-actions.ts';
import type { RankingActions } from './ranking-actions.ts';
import { useRankingStore } from './ranking-store.ts';

export interface Controller extends ModelActions {
  load(params: LoadParams, options?: LoadOptions): Promise<void>;
  /**
   * Draws the prompt with the settings; an unlocked seed is replaced by a new random one first. True once the drawing
   * is on the grid; false when it did not start, failed or was cancelled (the grid then shows the one before).
   */
  draw(): Promise<boolean>;
  /**
   * Draws the shown grid again with its seed, locked, and at least `index` + 1 images, so image `index` comes back.
   * With `once` (the widget, which has no seed control to unlock it) the settings are given back afterwards.
   */
  drawAgainFrom(index: number, options?: { once?: boolean }): Promise<void>;
  cancel(): void;
  /** CLIP ranking: settings, its download and loading (ranking-actions.ts). */
  readonly ranking: RankingActions;
}

export interface LoadOptions {
  readonly signal?: AbortSignal;
  /** The catalog's name for the model, for progress labels. */
  readonly modelName?: string;
}

/** In the page's language, with what to do next (error-text.ts). */
const messageOf = describeError;

/** Per-file progress kept by path, so the download panel shows every file the model needs. */
function withDownload(view: DownloadView | null, progress: LoadProgress): DownloadView | null {
  if (progress.stage !== 'download') return view;
  return { files: { ...view?.files, [progress.file.path]: progress.file } };
}

/** The first words of a long text, enough to find the place in the prompt: a whole ignored tail is a wall of text. */
function beginning(text: string, chars = 48): string {
  const all = [...text];
  if (all.length <= chars) return text;
  const cut = all.slice(0, chars).join('');
  const lastSpace = cut.lastIndexOf(' ');
  return `${(lastSpace > chars / 2 ? cut.slice(0, lastSpace) : cut).trimEnd()}…`;
}

export interface ControllerEvents {
  /** A drawing finished (the grid shows it): the history keeps it. */
  readonly onDrawn?: (drawing: Drawing, result: GenerateResult) => void;
}

/** @param makeGenerator starts a fresh worker; called again when a worker can no longer run. */
export function createController(makeGenerator: () => DalleGenerator, events: ControllerEvents = {}): Controller {
  const store = useAppStore;
  let generator = makeGenerator();
  let running: AbortController | null = null;
  let lastLoad: LoadParams | null = null;
  /** The loaded model's code colours: each step's codes are painted on the page with them. */
  let mosaicColors: MosaicColors | undefined;

  const slot: WorkerSlot = {
    current: () => generator,
    replace: () => {
      generator.dispose();
      generator = makeGenerator();
      lastLoad = null;
      mosaicColors = undefined;
    },
  };

  /** Stops the load a restart started (where the store is in memory, that is a whole download again). */
  let restartLoad: AbortController | null = null;

  /** Terminating frees the dead worker's GPU memory; the new worker loads the model again. */
  async function restart(why: string): Promise<void> {
    const reload = lastLoad;
    slot.replace();
    const stop = (restartLoad = new AbortController());
    try {
      // A model that asks before its download is not downloaded again unasked (deleted meanwhile, or memory mode).
      const ask = reload !== null && (await modelActions.reloadNeedsConsent().catch(() => false));
      if (ask) return await modelActions.offerDownloadAgain({ keepError: false });
      if (reload) await controller.load(reload, { signal: stop.signal });
    } finally {
      restartLoad = null;
    }
    // Failed, or stopped by the visitor: the download is offered again, as after any load that did not end.
    if (store.getState().phase === 'failed') await modelActions.offerDownloadAgain({ keepError: !stop.signal.aborted });
    if (store.getState().phase === 'ready') store.setState({ error: why });
  }

  const ranking = createRankingActions(slot);
  const modelActions = createModelActions(slot, (params, model, signal) => {
    ranking.modelChosen(model);
    return controller.load(params, { signal, modelName: model.name });
  });

  const controller: Controller = {
    ranking,
    ...modelActions,

    cancelDownload() {
      restartLoad?.abort();
      modelActions.cancelDownload();
    },

    async load(params, options = {}) {
      lastLoad = params;
      // A load whose worker was replaced meanwhile (another model, backend or store) was superseded: what its
      // worker answers, even "stopped unexpectedly", belongs to no one, and the new load owns the page.
      const generator = slot.current();
      const superseded = (): boolean => slot.current() !== generator;
      const name = options.modelName ?? t('model.theModel');
      store.setState({
        phase: 'loading',
        error: null,
        download: null,
        progress: { label: t('status.starting'), fraction: null },
      });
      try {
        const ready = await generator.load(
          params,
          (p) =>
            store.setState((s) => ({ progress: loadProgressLabel(p, name), download: withDownload(s.download, p) })),
          options.signal,
        );
        if (superseded()) return;
        mosaicColors = ready.mosaic;
        // A grid kept from before this load (the same model picked again) only if its pictures are this model's size.
        const resized = ready.imageSize !== store.getState().imageSize;
        store.setState({
          ...(resized ? { drawing: null, images: [], tokens: [] } : {}),
          phase: 'ready',
          backend: ready.backend,
          backendReason: ready.reason,
          modelId: ready.modelId,
          imageSize: ready.imageSize,
          progress: null,
        });
        void ranking.modelReady();
      } catch (error) {
        if (superseded()) return;
        lastLoad = null;
        // A worker that died while loading cannot load anything again: the next attempt gets a fresh one.
        if (needsNewWorker(error)) {
          slot.replace();
          store.setState({ download: null });
        }
        if (error instanceof DownloadCancelledError) {
          store.setState({
            phase: 'failed',
            progress: null,
            error: t('errors.downloadStopped'),
          });
          return;
        }
        store.setState({
          phase: 'failed',
          error: t('errors.loadFailed', { detail: messageOf(error) }),
          progress: null,
        });
      } finally {
        // The file list (and its Stop button) belongs to this load, whoever started it: the model picker or a
        // restart after a lost GPU, which no picker code follows to clear it.
        if (!superseded()) store.setState({ download: null });
      }
    },

    async draw() {
      const { prompt, phase, selectedModel, modelId } = store.getState();
      if (phase !== 'ready') return false;
      if (!store.getState().settings.seedLocked) setSettings({ seedText: String(randomSeed()) });
      const settings = store.getState().settings;
      let seed: number;
      try {
        checkPromptText(prompt);
        seed = parseSeedText(settings.seedText);
      } catch (error) {
        store.setState({ error: messageOf(error) });
        return false;
      }
      const drawing: Drawing = {
        prompt,
        seed,
        count: settings.count,
        sampling: effectiveSampling(settings, activeModel(store.getState())),
        model: selectedModel,
        modelId,
      };
      const run = (running = new AbortController());
      const started = performance.now();
      const mosaic = mosaicColors
        ? new MosaicPreview(mosaicColors.colors, mosaicColors.grid, store.getState().imageSize)
        : undefined;
      // Forming images replace the grid's slots as they arrive; the final result replaces them all.
      const showForming = (first: number, images: readonly Uint8ClampedArray[]): void => {
        store.setState((state) => {
          const next = state.images.slice(0, drawing.count);
          images.forEach((image, i) => (next[first + i] = image));
          return { images: next };
        });
      };
      // What the grid showed: a drawing that fails or is cancelled gives it back, not a blank grid or half-formed
      // previews (which cannot be opened, saved or shared).
      const { drawing: shownDrawing, images, tokens, imageSize } = store.getState();
      const shown = { drawing: shownDrawing, images, tokens, imageSize };
      const { scores, indices } = useRankingStore.getState();
      store.setState({
        phase: 'generating',
        error: null,
        notice: null,
        drawing,
        images: [],
        tokens: [],
        progress: { label: t('status.encoding'), fraction: 0 },
      });
      useRankingStore.setState({ scores: [], indices: [] });
      try {
        const rank = await ranking.forDraw(drawing.count, run.signal);
        // A ranked drawing is the best `count` of its candidates: share links and the history draw it again so.
        const drawn: Drawing = rank ? { ...drawing, candidates: rank.candidates } : drawing;
        if (rank) store.setState({ drawing: drawn });
        const result = await generator.generate(
          { prompt, count: drawing.count, seed, sampling: drawing.sampling, ...(rank ? { rank } : {}) },
          {
            // Ranked drawings: the best images so far replace the grid after each scored part.
            onRanked: ({ images, scores, indices, scored, candidates }) => {
              store.setState({ images });
              useRankingStore.setState({ scores, indices });
              store.setState((state) => ({
                progress: {
                  label: t('ranking.progress', { scored, candidates }),
                  fraction: state.progress?.fraction ?? null,
                },
              }));
            },
            signal: run.signal,
            onStep: ({ step, totalSteps }) =>
              store.setState({
                progress: { label: t('status.step', { step, total: totalSteps }), fraction: step / totalSteps },
              }),
            onCodes: ({ first, slot, codes }) => {
              if (mosaic) showForming(first, mosaic.paint(first, slot, codes));
            },
            onPreview: ({ first, images }) => {
              images.forEach((image, i) => mosaic?.replace(first + i, image));
              showForming(first, images);
            },
          },
        );
        // Cancel pressed while the last images were decoded or scored: the worker only read it once it had answered.
        if (run.signal.aborted) throw new GenerationCancelledError();
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        const ignored = result.ignoredPromptText;
        store.setState({
          images: result.images,
          tokens: result.tokens,
          imageSize: result.imageSize,
          progress: { label: t('status.done', { seconds }), fraction: 1 },
          ...(ignored === undefined ? {} : { notice: t('status.promptCut', { ignored: beginning(ignored) }) }),
        });
        useRankingStore.setState({ scores: result.ranking?.scores ?? [], indices: result.ranking?.indices ?? [] });
        events.onDrawn?.(drawn, result);
        return true;
      } catch (error) {
        // The visitor's Stop on CLIP's download while the drawing waited for it ends the drawing as a Cancel does.
        const cancelled = error instanceof GenerationCancelledError || error instanceof DownloadCancelledError;
        store.setState({
          progress: cancelled ? { label: t('status.cancelled'), fraction: null } : null,
          error: cancelled ? null : messageOf(error),
          ...shown,
        });
        useRankingStore.setState({ scores, indices });
        if (needsNewWorker(error)) {
          running = null;
          await restart(messageOf(error));
        }
        return false;
      } finally {
        running = null;
        store.setState((s) => (s.phase === 'generating' ? { phase: 'ready' } : {}));
      }
    },

    async drawAgainFrom(index, { once = false } = {}) {
      const { drawing, settings } = store.getState();
      if (!drawing) return;
      store.setState({ prompt: drawing.prompt });
      setSettings({
        ...choiceFor(drawing.sampling, settings, activeModel(store.getState())),
        seedText: String(drawing.seed),
        seedLocked: true,
        count: Math.max(settings.count, index + 1),
        ...rankingOf(drawing.candidates),
      });
      try {
        await controller.draw();
      } finally {
        if (once) setSettings(settings);
      }
    },

    cancel() {
      running?.abort();
    },
  };
  return controller;
}
