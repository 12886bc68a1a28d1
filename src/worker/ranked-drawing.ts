/**
 * A ranked generate request in the worker: best-of-N through drawBestOf, the images going from the
 * VQGAN's output straight into CLIP inside this worker (no trip through the page), a `ranked`
 * update after each scored part and the best `count` as the result, best first.
 */
import { drawBestOf } from '../pipeline/best-of-n.ts';
import type { RankedImage } from '../pipeline/best-of-n.ts';
import type { ClipRanker } from '../pipeline/clip/clip-ranker.ts';
import { stepPoster } from './drawing.ts';
import type { WorkerDrawing } from './drawing.ts';
import type { GenerateParams, GenerateResult, RankParams } from './protocol.ts';

export interface RankedDrawing extends WorkerDrawing {
  readonly params: GenerateParams & { readonly rank: RankParams };
  readonly ranker: ClipRanker;
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
      prompt: drawing.prompt,
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
      onProgress: stepPoster(id, post),
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
