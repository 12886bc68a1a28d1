/**
 * A drawing the parent page asked for, run through the same controller and store as the widget's
 * own Draw button: the prompt and settings go into the store, the grid shows the images as they
 * form, and the finished images are encoded as PNGs for the answer.
 */
import { GenerationCancelledError } from '../../pipeline/errors.ts';
import { DEFAULT_SAMPLING } from '../../pipeline/sampler.ts';
import type { SamplingSettings } from '../../pipeline/sampler.ts';
import type { Controller } from '../controller.ts';
import { setPrompt, setSettings, useAppStore } from '../store.ts';
import type { AppState } from '../store.ts';
import type { GenerateMessage } from './embed-api.ts';
import type { DrawnImages } from './embed-bridge.ts';
import { rgbaToPng } from './png.ts';

/** A fresh seed from the whole seed space. */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/** The next store change. */
function nextState(): Promise<AppState> {
  return new Promise((resolve) => {
    const unsubscribe = useAppStore.subscribe((state) => {
      unsubscribe();
      resolve(state);
    });
  });
}

/** Waits while the model loads or the visitor's own drawing runs; fails when no drawing can start. */
async function untilReady(signal: AbortSignal): Promise<void> {
  for (let state = useAppStore.getState(); state.phase !== 'ready'; state = await nextState()) {
    if (signal.aborted) throw new GenerationCancelledError();
    if (state.phase === 'failed') throw new Error(state.error ?? 'The model could not be loaded.');
    if (state.phase === 'consent')
      throw new Error(
        `${state.offer?.model.name ?? 'The model'} is not downloaded yet: the widget asks the visitor first. Send generate again after the widget posts "ready".`,
      );
  }
}

export interface WidgetDefaults {
  readonly count: number;
  /** Null: a new random seed for each drawing. */
  readonly seed: number | null;
}

export function parentDraw(controller: Controller, defaults: WidgetDefaults) {
  return async (
    request: GenerateMessage,
    onProgress: (fraction: number) => void,
    signal: AbortSignal,
  ): Promise<DrawnImages> => {
    const { sampling } = request;
    if (
      sampling &&
      (Object.keys(DEFAULT_SAMPLING) as (keyof SamplingSettings)[]).some((k) => sampling[k] !== DEFAULT_SAMPLING[k])
    )
      // The page's drawings use dalle-mini's defaults (controller.ts); drawing with others would mislabel the result.
      throw new Error(
        `this widget draws with dalle-mini's default sampling (${JSON.stringify(DEFAULT_SAMPLING)}); other sampling settings are not supported yet.`,
      );
    await untilReady(signal);
    const seed = request.seed ?? defaults.seed ?? randomSeed();
    const count = request.count ?? defaults.count;
    // Synchronously from here to draw()'s own check, so no click can start another drawing in between.
    setPrompt(request.prompt);
    setSettings({ count, seedText: String(seed) });
    const stop = (): void => controller.cancel();
    signal.addEventListener('abort', stop);
    const unsubscribe = useAppStore.subscribe((state, previous) => {
      const fraction = state.progress?.fraction;
      if (state.phase === 'generating' && state.progress !== previous.progress && typeof fraction === 'number')
        onProgress(fraction);
    });
    try {
      await controller.draw();
    } finally {
      unsubscribe();
      signal.removeEventListener('abort', stop);
    }
    const { error, tokens, images, imageSize } = useAppStore.getState();
    if (error !== null) throw new Error(error);
    if (tokens.length !== count) throw new GenerationCancelledError();
    const format = request.format ?? 'data-url';
    return { images: await Promise.all(images.map((rgba) => rgbaToPng(rgba, imageSize, format))), imageSize, seed };
  };
}
