/**
 * An unranked generate request in the worker: generateImages with the request's settings, `step`
 * messages that let a cancel in, each step's `codes` for the page's mosaic, VQGAN `preview`s, and
 * the images and codes as the result.
 */
import type { BatchSizes } from '../pipeline/batch-size.ts';
import type { DalleEngine } from '../pipeline/engine.ts';
import { DEFAULT_PREVIEW_EVERY, generateImages } from '../pipeline/generate-images.ts';
import type { GenerationProgress } from '../pipeline/generate-images.ts';
import type { EncodedPrompt } from '../text/bpe-tokenizer.ts';
import type { PromptEncoder } from '../text/prompt-encoder.ts';
import type { GenerateParams, GenerateResult, RequestId, WorkerResponse } from './protocol.ts';
import { yieldToEventLoop } from './yield.ts';

/** What a generate request runs with in the worker. */
export interface WorkerDrawing {
  readonly id: RequestId;
  readonly params: GenerateParams;
  /** The prompt encoded for the request's seed (the handler encodes it first: a bad prompt fails before any run). */
  readonly prompt: EncodedPrompt;
  readonly engine: DalleEngine;
  readonly text: PromptEncoder;
  readonly batch: BatchSizes;
  readonly signal: AbortSignal;
  readonly post: (message: WorkerResponse, transfer: Transferable[]) => void;
}

/** Posts each decoder step and yields: ORT's WASM runs never return to the message loop by themselves. */
export function stepPoster(
  id: RequestId,
  post: WorkerDrawing['post'],
): (progress: GenerationProgress) => Promise<void> {
  return async ({ step, totalSteps }) => {
    post({ type: 'step', id, progress: { step, totalSteps } }, []);
    await yieldToEventLoop();
  };
}

/** @param sendCodes whether the page can paint codes (the model has code colours, sent with `ready`). */
export async function drawImages(drawing: WorkerDrawing, sendCodes: boolean): Promise<GenerateResult> {
  const { id, params, engine, text, post } = drawing;
  const imageSize = engine.manifest.vqgan.resolution;
  const generated = await generateImages(
    engine,
    {
      prompt: drawing.prompt,
      unconditional: text.unconditional,
      count: params.count,
      seed: params.seed,
      sampling: params.sampling,
      batch: drawing.batch,
      previewEvery: params.previewEvery ?? DEFAULT_PREVIEW_EVERY,
      signal: drawing.signal,
    },
    {
      onProgress: stepPoster(id, post),
      ...(sendCodes
        ? {
            onCodes: (first: number, slot: number, codes: Int32Array) =>
              post({ type: 'codes', id, codes: { first, slot, codes: Array.from(codes) } }, []),
          }
        : {}),
      onPreview: (first, images) =>
        post(
          { type: 'preview', id, preview: { first, images, imageSize } },
          images.map((image) => image.buffer),
        ),
    },
  );
  return {
    images: generated.images,
    tokens: generated.tokens.map((codes) => Array.from(codes)),
    imageSize,
  };
}
