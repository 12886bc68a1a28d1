/**
 * A whole request: k images for one prompt, split into batches that fit in memory, with progress,
 * progressive previews and cancellation. The worker, the Node CLI and the benchmarks all call this.
 */
import { vqganGridSize } from '../model/config.ts';
import type { DalleEngine, TokenRequest } from './engine.ts';
import { throwIfCancelled } from './errors.ts';
import { pixelsToRgba } from './images.ts';
import type { BatchSizes } from './batch-size.ts';

/**
 * dalle-mini's progressive outputs decode every 32 steps (two rows of codes); the worker's and the benchmark's default.
 */
export const DEFAULT_PREVIEW_EVERY = 32;

/** What a drawing asks for: what TokenRequest asks (prompt, seed, sampling, …), and how to batch and preview. */
export interface ImageRequest extends Pick<
  TokenRequest,
  'prompt' | 'unconditional' | 'count' | 'seed' | 'firstImage' | 'sampling' | 'signal'
> {
  /** Most images sampled together (cond + uncond rows are twice that) and decoded by the VQGAN together. */
  readonly batch: BatchSizes;
  /** Decode a preview every this many steps; 0 turns previews off. */
  readonly previewEvery?: number;
  /**
   * Most of the drawing time previews may take (default PREVIEW_SHARE, PREVIEW_SHARE_WITH_MOSAIC with `onCodes`;
   * Infinity keeps every preview).
   */
  readonly previewShare?: number;
}

export interface GenerationProgress {
  /** Decoder steps done over all batches, out of `totalSteps`. */
  readonly step: number;
  readonly totalSteps: number;
}

export interface ImageEvents {
  /** Awaited, so a caller can yield to its event loop between steps. */
  onProgress?(progress: GenerationProgress): void | Promise<void>;
  /** VQGAN-decoded images `first … first + images.length − 1` as they are forming. */
  onPreview?(first: number, images: Uint8ClampedArray[]): void;
  /**
   * With previews on, after every step but the last: the code each image of the batch sampled at grid slot `slot`
   * (images `first … first + codes.length − 1`), for a mosaic painted where it is shown (src/pipeline/mosaic.ts).
   */
  onCodes?(first: number, slot: number, codes: Int32Array): void;
}

export interface GeneratedImages {
  /** One array of imageLength codes per image. */
  readonly tokens: Int32Array[];
  /** RGBA, imageSize × imageSize (the VQGAN's output resolution), one per image. */
  readonly images: Uint8ClampedArray[];
}

/** Image counts per batch: as even as possible, none above `maxBatch`. */
export function planBatches(count: number, maxBatch: number): number[] {
  const batches = Math.ceil(count / Math.max(1, maxBatch));
  const base = Math.floor(count / batches);
  return Array.from({ length: batches }, (_, i) => base + (i < count % batches ? 1 : 0));
}

/**
 * Codes for a preview: sampled slots as they are, the rest filled by repeating the last complete
 * row of codes downwards, so the forming image reads as an image rather than a flat block.
 */
export function previewCodes(codes: Int32Array, stepsDone: number, grid: number): Int32Array {
  const out = Int32Array.from(codes);
  const rows = Math.floor(stepsDone / grid);
  for (let p = stepsDone; p < out.length; p++) {
    const column = p % grid;
    out[p] = rows > 0 ? codes[(rows - 1) * grid + column]! : 0;
  }
  return out;
}

/** VQGAN-decodes n images' codes in chunks of at most `chunk` and returns RGBA images. */
async function decodeToRgba(
  engine: DalleEngine,
  codes: Int32Array,
  n: number,
  chunk: number,
): Promise<Uint8ClampedArray[]> {
  const S = engine.manifest.dalleBart.imageLength;
  const imageSize = engine.manifest.vqgan.resolution;
  const out: Uint8ClampedArray[] = [];
  for (const count of planBatches(n, chunk)) {
    const start = out.length;
    const pixels = await engine.decodeImages(codes.subarray(start * S, (start + count) * S), count);
    for (let i = 0; i < count; i++) out.push(pixelsToRgba(pixels, i, imageSize));
  }
  return out;
}

/** Most of the drawing time VQGAN previews may take when they are the only sign of progress. */
export const PREVIEW_SHARE = 0.25;
/**
 * …and when a mosaic of the sampled codes is painted at every step (`onCodes`): the mosaic already shows
 * the picture forming, so the sharper VQGAN preview is a refinement. On WASM a 9-image preview costs
 * about as much as 35 decoder steps, so at a quarter it took a fifth of a whole drawing.
 */
export const PREVIEW_SHARE_WITH_MOSAIC = 0.1;

/**
 * Keeps previews to at most `maxShare` of the drawing time: a preview of n images is due once the time
 * since the last one (or since the start) is at least n × (the VQGAN's time per image) / maxShare. On a
 * GPU previews cost a few percent and all arrive; where the VQGAN is slow (WASM, software WebGPU, weak
 * devices) most or all are skipped. The time per image comes from the latest decode (an earlier drawing's,
 * or this one's previews); before any, the first preview is due and measures it. generateImages passes the
 * earlier drawings' time only when a mosaic is painted: without one the first preview always comes.
 */
export class PreviewBudget {
  private since = performance.now();

  constructor(
    private readonly maxShare = PREVIEW_SHARE,
    private msPerImage?: number,
  ) {}

  due(images: number): boolean {
    if (this.msPerImage === undefined) return true;
    return this.msPerImage * images <= this.maxShare * (performance.now() - this.since);
  }

  decoded(ms: number, images: number): void {
    this.msPerImage = ms / images;
    this.since = performance.now();
  }
}

/** The share of the drawing VQGAN previews may take: the request's, else by whether a mosaic is painted. */
export function previewShare(request: Pick<ImageRequest, 'previewShare'>, events: ImageEvents): number {
  return request.previewShare ?? (events.onCodes ? PREVIEW_SHARE_WITH_MOSAIC : PREVIEW_SHARE);
}

export async function generateImages(
  engine: DalleEngine,
  request: ImageRequest,
  events: ImageEvents = {},
): Promise<GeneratedImages> {
  const S = engine.manifest.dalleBart.imageLength;
  const grid = vqganGridSize(engine.manifest.vqgan);
  const batches = planBatches(request.count, request.batch.decoder);
  const totalSteps = batches.length * S;
  const tokens: Int32Array[] = [];
  const images: Uint8ClampedArray[] = [];
  let first = 0;
  // Without a mosaic the first preview is the first picture a visitor sees: it always comes.
  const previews = new PreviewBudget(
    previewShare(request, events),
    events.onCodes ? engine.decodeMsPerImage : undefined,
  );
  const every = request.previewEvery ?? 0;
  for (const [b, n] of batches.entries()) {
    const codes = await engine.generateTokens({
      prompt: request.prompt,
      unconditional: request.unconditional,
      count: n,
      seed: request.seed,
      firstImage: (request.firstImage ?? 0) + first,
      sampling: request.sampling,
      ...(request.signal ? { signal: request.signal } : {}),
      onStep: async (step, sampled) => {
        await events.onProgress?.({ step: b * S + step + 1, totalSteps });
        if (every <= 0 || step + 1 >= S) return;
        events.onCodes?.(
          first,
          step,
          Int32Array.from({ length: n }, (_, i) => sampled[i * S + step]!),
        );
        if (events.onPreview && (step + 1) % every === 0 && previews.due(n)) {
          const filled = new Int32Array(sampled.length);
          for (let i = 0; i < n; i++)
            filled.set(previewCodes(sampled.subarray(i * S, (i + 1) * S), step + 1, grid), i * S);
          const started = performance.now();
          const decoded = await decodeToRgba(engine, filled, n, request.batch.vqgan);
          events.onPreview(first, decoded);
          previews.decoded(performance.now() - started, n);
        }
      },
    });
    throwIfCancelled(request.signal);
    for (let i = 0; i < n; i++) tokens.push(codes.slice(i * S, (i + 1) * S));
    images.push(...(await decodeToRgba(engine, codes, n, request.batch.vqgan)));
    first += n;
  }
  // A cancel read while the last images were decoded: the caller asked for nothing, so it gets nothing.
  throwIfCancelled(request.signal);
  return { tokens, images };
}
