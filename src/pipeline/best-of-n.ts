/**
 * Best-of-N, as dalle-mini's notebook does it: draw N candidates, score each against the prompt
 * with CLIP, show the best first. Candidates are drawn in parts of one decoder batch; each part is
 * ranked as soon as it is decoded, and the caller gets the best `shown` so far after every part.
 * Candidate i samples from seed stream i, so it is image i of a plain drawing of N images.
 */
import type { ClipRanker } from './clip/clip-ranker.ts';
import { scoreImages } from './clip/clip-ranker.ts';
import { rankCandidates } from './clip/scores.ts';
import type { DalleEngine } from './engine.ts';
import { throwIfCancelled } from './errors.ts';
import { generateImages, planBatches } from './generate-images.ts';
import type { ImageEvents, ImageRequest } from './generate-images.ts';

export interface BestOfRequest extends Omit<ImageRequest, 'count' | 'firstImage' | 'previewEvery'> {
  /** How many images to draw and score. */
  readonly candidates: number;
  /** How many of the best to keep (≤ candidates). */
  readonly shown: number;
  /** The prompt as typed (not the normalizer's output): what CLIP compares the images with. */
  readonly text: string;
}

export interface ScoredImage {
  /** Candidate index = seed stream. */
  readonly index: number;
  readonly score: number;
  readonly tokens: Int32Array;
}

export interface RankedImage extends ScoredImage {
  /** RGBA, imageSize × imageSize. */
  readonly image: Uint8ClampedArray;
}

export interface BestOfEvents extends Pick<ImageEvents, 'onProgress'> {
  /** After each part: the best `shown` so far, best first, and how many candidates are scored. */
  onRanked?(best: readonly RankedImage[], scored: number): void;
}

export interface BestOfResult {
  /** The best `shown`, best first. */
  readonly best: RankedImage[];
  /** Every candidate, in drawing order. */
  readonly candidates: ScoredImage[];
}

export function checkBestOf(candidates: number, shown: number): void {
  if (!Number.isInteger(candidates) || candidates < 1)
    throw new RangeError(`candidates must be ≥ 1, got ${candidates}`);
  if (!Number.isInteger(shown) || shown < 1 || shown > candidates)
    throw new RangeError(`shown must be from 1 to candidates (${candidates}), got ${shown}`);
}

export async function drawBestOf(
  engine: DalleEngine,
  ranker: ClipRanker,
  request: BestOfRequest,
  events: BestOfEvents = {},
): Promise<BestOfResult> {
  checkBestOf(request.candidates, request.shown);
  const S = engine.manifest.dalleBart.imageLength;
  const size = engine.manifest.vqgan.resolution;
  const text = await ranker.embedText(request.text);
  const parts = planBatches(request.candidates, request.batch.decoder);
  const totalSteps = parts.length * S;
  const candidates: ScoredImage[] = [];
  let best: RankedImage[] = [];
  let first = 0;
  for (const [p, n] of parts.entries()) {
    const generated = await generateImages(
      engine,
      { ...request, count: n, firstImage: first },
      {
        onProgress: ({ step }) => events.onProgress?.({ step: p * S + step, totalSteps }),
      },
    );
    throwIfCancelled(request.signal);
    const scores = await scoreImages(ranker, text, generated.images, size);
    throwIfCancelled(request.signal);
    const part = generated.images.map((image, i) => ({
      index: first + i,
      score: scores[i]!,
      tokens: generated.tokens[i]!,
      image,
    }));
    candidates.push(...part.map(({ index, score, tokens }) => ({ index, score, tokens })));
    best = rankCandidates([...best, ...part]).slice(0, request.shown);
    events.onRanked?.(best, candidates.length);
    first += n;
  }
  return { best, candidates };
}
