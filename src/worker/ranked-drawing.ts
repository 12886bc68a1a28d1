/**
 * A ranked generate request in the worker: best-of-N through drawBestOf, the images going from the
 * VQGAN's output straight into CLIP inside this worker (no trip through the page), a `ranked`
 * update after each scored part and the best `count` as the result, best first.
 */
import type { BatchSizes } from '../pipeline/batch-size.ts';
import { drawBestOf } from '../pipeline/best-of-n.ts';
import type { RankedImage } from '../pipeline/best-of-n.ts';
import type { ClipRanker } from '../pipeline/clip/clip-ranker.ts';
import type { DalleEngine } from '../pipeline/engine.ts';
import type { PromptEncoder } from '../text/prompt-encoder.ts';
import type { GenerateParams, GenerateResult, RankParams, RequestId, WorkerResponse } from './protocol.ts';
import { yieldToEventLoop } from './yield.ts';

export interface RankedDrawing {
  readonly id: RequestId;
  readonly params: GenerateParams & { readonly rank: RankParams };
  readonly engine: DalleEngine;
  readonly text: PromptEncoder;
  readonly ranker: ClipRanker;
  readonly batch: BatchSizes;
  readonly signal: AbortSignal;
  readonly post: (message: WorkerResponse, transfer: Transferable[]) => void;
}

function ranking(best: readonly RankedImage[]): { indices: number[]; scores: number[] } {
  return { indices: best.map((image) => image.index), scores: best.map((image) => image.score) };
}

export async function drawRanked(drawing: RankedDrawing): Promise<GenerateResult> {
  const { id, params, engine, post } = drawing;
  const imageSize = engine.manifest.vqgan.resolution;
  const candidates = params.rank.candidates;
  const result = await drawBestOf(
    engine,
    drawing.ranker,
    {
      prompt: drawing.text.encode(params.prompt, params.seed),
      unconditional: drawing.text.unconditional,
      // CLIP reads the prompt as typed, not the DALL·E normalizer's output.
      text: params.prompt,
      candidates,
      shown: params.count,
      seed: params.seed,
      sampling: params.sampling,
      batch: drawing.batch,
      signal: drawing.signal,
    },
    {
      onProgress: async ({ step, totalSteps }) => {
        post({ type: 'step', id, progress: { step, totalSteps } }, []);
        // ORT's WASM runs never return to the message loop by themselves: let a cancel in.
        await yieldToEventLoop();
      },
      // Copies: the best images stay in the ranking for the next part, so they cannot be transferred.
      onRanked: (best, scored) =>
        post(
          {
            type: 'ranked',
            id,
            update: { images: best.map(({ image }) => image.slice()), ...ranking(best), scored, candidates, imageSize },
          },
          [],
        ),
    },
  );
  return {
    images: result.best.map(({ image }) => image),
    tokens: result.best.map(({ tokens }) => Array.from(tokens)),
    imageSize,
    ranking: ranking(result.best),
  };
}
