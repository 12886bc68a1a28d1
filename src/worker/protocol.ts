/**
 * The messages between the page and the DALL·E worker. Every request carries an id; every response
 * names the request it answers, so the client can route progress, results and errors to the right
 * pending call. Errors cross as plain data (structured clone drops custom classes) and are rebuilt.
 *
 * The worker checks every message (parse-request.ts) and answers a malformed one with an `error`
 * response (InvalidRequestError, or the sampler's / prompt's own error for bad settings): under the
 * message's id when it has a usable one (an integer ≥ 0), else under UNKNOWN_REQUEST_ID.
 */
import type { GraphName, ModelDtype } from '../model/manifest.ts';
import type { DownloadProgress } from '../store/progress.ts';
import type { StorageUsage, StoredModelInfo } from '../store/model-store.ts';
import type { SamplingSettings } from '../pipeline/sampler.ts';

export { BACKENDS, isBackendName } from '../pipeline/session-options.ts';
import type { BackendName } from '../pipeline/session-options.ts';
export type { BackendName };

/** An integer from 0 to Number.MAX_SAFE_INTEGER; the client numbers its requests from 1. */
export type RequestId = number;

/** The id of an error response to a message that had no usable id (not an object, no integer id, unreadable). */
export const UNKNOWN_REQUEST_ID = -1;

export interface LoadParams {
  /** Folder holding manifest.json, absolute URL. */
  readonly modelUrl: string;
  /** Folder holding onnxruntime-web's .mjs/.wasm files, absolute URL (served from our own origin). */
  readonly wasmPaths: string;
  /** Forces a backend (the `?backend=` URL parameter); otherwise WebGPU when an adapter exists. */
  readonly backend?: BackendName;
}

export interface ReadyInfo {
  readonly backend: BackendName;
  /** Why this backend was chosen, for the status line. */
  readonly reason: string;
  readonly modelId: string;
  readonly imageSize: number;
  /** The model's code colours, when it has them: the page paints `codes` updates with them. */
  readonly mosaic?: MosaicColors;
}

/** What the page needs to paint sampled codes as blocks of colour (src/pipeline/mosaic.ts); sent once per load. */
export interface MosaicColors {
  /** RGB per image code, 3 bytes each (the model folder's `preview.codeColors` file). */
  readonly colors: Uint8Array;
  /** Codes per side of an image (16): one code is a block of imageSize / grid pixels. */
  readonly grid: number;
}

export type LoadProgress =
  /** A file's bytes fetched into the model store, and the whole model's, with speed and time left. */
  ({ readonly stage: 'download' } & DownloadProgress) | { readonly stage: 'compile'; readonly graph: GraphName };

/** Where the worker keeps model files: IndexedDB, or memory where the browser refuses storage. */
export type StorageInfo = { readonly kind: 'indexeddb' } | { readonly kind: 'memory'; readonly notice: string };

/** A model folder as the worker sees it before loading: its size and how much of it is stored. */
export interface ModelInfo {
  readonly modelId: string;
  readonly dtype: ModelDtype;
  readonly bytes: number;
  readonly storedBytes: number;
  /** Bytes a load would download. */
  readonly missingBytes: number;
  /** Every file stored and verified: loads without the network. */
  readonly complete: boolean;
  /** 'store' when the folder's manifest.json could not be fetched and the stored copy answered (offline). */
  readonly manifestFrom: 'network' | 'store';
  readonly storage: StorageInfo;
}

/** The storage panel's view: stored models (shared files counted once in `usage.modelBytes`). */
export interface StorageReport {
  readonly storage: StorageInfo;
  readonly models: readonly StoredModelInfo[];
  readonly usage: StorageUsage;
}

/** `list` only reports; `delete` removes one stored model (by StoredModelInfo.id), `delete-all` every one. */
export type StorageAction =
  | { readonly action: 'list' }
  | { readonly action: 'delete'; readonly model: string }
  | { readonly action: 'delete-all' };

/** Most images one request may ask for: dalle-mini's 3×3 grid. */
export const MAX_IMAGES = 9;

/** Most candidates a ranked drawing may draw (dalle-mini's notebook uses 16 for a 3×3 grid). */
export const MAX_CANDIDATES = 64;

/** Best-of-N: draw `candidates` images, score them with the loaded CLIP ranker, return the best `count`. */
export interface RankParams {
  /** count … MAX_CANDIDATES. */
  readonly candidates: number;
}

/** A CLIP ranker's folder (its manifest.json is a CLIP manifest), absolute URL. */
export interface RankerParams {
  readonly modelUrl: string;
}

export interface RankerInfo {
  readonly modelId: string;
  readonly dtype: string;
}

/** The best images so far of a ranked drawing, best first, after each part is scored. */
export interface RankedUpdate {
  readonly images: Uint8ClampedArray[];
  /** Candidate (seed stream) index of each image. */
  readonly indices: number[];
  /** CLIP score of each image: cosine × exp(logit_scale). */
  readonly scores: number[];
  /** Candidates scored so far, out of `candidates`. */
  readonly scored: number;
  readonly candidates: number;
  readonly imageSize: number;
}

export interface GenerateParams {
  readonly prompt: string;
  /** How many images to draw (with `rank`: how many of the best to show), 1 … MAX_IMAGES. */
  readonly count: number;
  readonly seed: number;
  readonly sampling: SamplingSettings;
  /** Post a preview of the forming images every this many decoder steps; 0 turns previews off. */
  readonly previewEvery?: number;
  /** Rank with CLIP (load-ranker first); previews are then replaced by `ranked` updates. */
  readonly rank?: RankParams;
}

/** A VQGAN-decoded preview of the forming images (every `previewEvery` steps, while it stays cheap). */
export interface GeneratePreview {
  /** Index of the first image in `images` within the request. */
  readonly first: number;
  readonly images: Uint8ClampedArray[];
  /** Pixel side of each image. */
  readonly imageSize: number;
}

/**
 * The codes one decoder step sampled, for the page's mosaic: a few numbers per step instead of whole images. Sent at
 * every step but the last when previews are on and the model has code colours (ReadyInfo.mosaic).
 */
export interface SampledCodes {
  /** Index of the first image in `codes` within the request. */
  readonly first: number;
  /** The grid slot (decoder step within the image) the codes fill: row-major, 0 … grid² − 1. */
  readonly slot: number;
  /** One code per image: images first … first + codes.length − 1. */
  readonly codes: number[];
}

export interface StepProgress {
  /** Decoder steps done over all batches, 1 … totalSteps. */
  readonly step: number;
  readonly totalSteps: number;
}

export interface GenerateResult {
  /** One RGBA buffer per image, imageSize × imageSize pixels. */
  readonly images: Uint8ClampedArray[];
  /** The image codes of each image, in order. */
  readonly tokens: number[][];
  readonly imageSize: number;
  /** Ranked drawings only: each image's candidate index and CLIP score, best first. */
  readonly ranking?: { readonly indices: number[]; readonly scores: number[] };
  /** The end of the (normalised) prompt past the model's text length, which it did not read; absent when all fit. */
  readonly ignoredPromptText?: string;
}

/** A thrown error as data: its class name, message and any primitive fields it carries (file, expected, …). */
export interface ErrorData {
  readonly name: string;
  readonly message: string;
  readonly details?: Readonly<Record<string, string | number | boolean>>;
}

export type WorkerRequest =
  /** Reads the folder's manifest (or the stored copy offline) and reports what loading it would download. */
  | { readonly type: 'inspect'; readonly id: RequestId; readonly modelUrl: string }
  /** Downloads what the store lacks (the page asks the visitor first), then creates the sessions. */
  | { readonly type: 'load'; readonly id: RequestId; readonly params: LoadParams }
  | { readonly type: 'generate'; readonly id: RequestId; readonly params: GenerateParams }
  /**
   * Downloads (the page asks first) and loads a CLIP ranker for the loaded model's backend; runs on the generation
   * queue.
   */
  | { readonly type: 'load-ranker'; readonly id: RequestId; readonly params: RankerParams }
  /** Stops the generate request `target` at its next decoder step (or before it starts). */
  | { readonly type: 'cancel'; readonly id: RequestId; readonly target: RequestId }
  | { readonly type: 'storage'; readonly id: RequestId; readonly request: StorageAction };

export type WorkerResponse =
  | { readonly type: 'model-info'; readonly id: RequestId; readonly info: ModelInfo }
  | { readonly type: 'storage-report'; readonly id: RequestId; readonly report: StorageReport }
  | { readonly type: 'load-progress'; readonly id: RequestId; readonly progress: LoadProgress }
  | { readonly type: 'ready'; readonly id: RequestId; readonly info: ReadyInfo }
  | { readonly type: 'step'; readonly id: RequestId; readonly progress: StepProgress }
  | { readonly type: 'codes'; readonly id: RequestId; readonly codes: SampledCodes }
  | { readonly type: 'preview'; readonly id: RequestId; readonly preview: GeneratePreview }
  | { readonly type: 'result'; readonly id: RequestId; readonly result: GenerateResult }
  | { readonly type: 'ranker-ready'; readonly id: RequestId; readonly info: RankerInfo }
  | { readonly type: 'ranked'; readonly id: RequestId; readonly update: RankedUpdate }
  | { readonly type: 'error'; readonly id: RequestId; readonly error: ErrorData };
