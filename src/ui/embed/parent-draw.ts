/**
 * A drawing the parent page asked for, run through the same controller and store as the widget's
 * own Draw button: the prompt and settings go into the store, the grid shows the images as they
 * form, and the finished images are encoded as PNGs for the answer. The widget's own settings come
 * back afterwards: a parent's seed or sampling applies to its request only.
 */
import { GenerationCancelledError } from '../../pipeline/errors.ts';
import type { Controller } from '../controller.ts';
import { setPrompt, setSettings, useAppStore } from '../store.ts';
import type { AppState } from '../store.ts';
import type { GenerateMessage } from './embed-api.ts';
import type { DrawnImages } from './embed-bridge.ts';
import { rgbaToPng } from './png.ts';

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
    // Offered again after a failed load: the failure is the answer, not "not downloaded yet".
    if (state.phase === 'consent' && state.offer?.afterFailure && state.error !== null) throw new Error(state.error);
    if (state.phase === 'consent')
      throw new Error(
        `${state.offer?.model.name ?? 'The model'} is not downloaded yet: the widget asks the visitor first. Send generate again after the widget posts "ready".`,
      );
  }
  // A request cancelled while another drawing ran: the abort came before there was anything to stop.
  if (signal.aborted) throw new GenerationCancelledError();
}

export function parentDraw(controller: Controller) {
  return async (
    request: GenerateMessage,
    onProgress: (fraction: number) => void,
    signal: AbortSignal,
  ): Promise<DrawnImages> => {
    await untilReady(signal);
    const widgetSettings = useAppStore.getState().settings;
    const count = request.count ?? widgetSettings.count;
    // Synchronously from here to draw()'s own check, so no click can start another drawing in between.
    setPrompt(request.prompt);
    setSettings({
      count,
      ...(request.seed === undefined ? {} : { seedText: String(request.seed), seedLocked: true }),
      ...request.sampling,
    });
    const stop = (): void => controller.cancel();
    signal.addEventListener('abort', stop);
    const unsubscribe = useAppStore.subscribe((state, previous) => {
      const fraction = state.progress?.fraction;
      if (state.phase === 'generating' && state.progress !== previous.progress && typeof fraction === 'number')
        onProgress(fraction);
    });
    let drawn: boolean;
    try {
      drawn = await controller.draw();
    } finally {
      unsubscribe();
      signal.removeEventListener('abort', stop);
      setSettings(widgetSettings);
    }
    // Not drawn, the grid shows the drawing before (a failed or cancelled one gives it back): never an answer.
    const { error, images, imageSize, drawing } = useAppStore.getState();
    if (!drawn && error !== null) throw new Error(error);
    if (!drawn || drawing === null || signal.aborted) throw new GenerationCancelledError();
    const format = request.format ?? 'data-url';
    const encoded = await Promise.all(images.map((rgba) => rgbaToPng(rgba, imageSize, format)));
    // A cancel that came while the PNGs were encoded (blobs are encoded asynchronously) still cancels.
    if (signal.aborted) throw new GenerationCancelledError();
    return { images: encoded, imageSize, seed: drawing.seed };
  };
}
