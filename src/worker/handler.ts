/**
 * The worker's message handler, free of `self` and of ONNX Runtime: messages in, `post` out, the
 * model loader and the model library injected. The worker binds it to `onmessage`; Node tests feed
 * it plain objects.
 */
import { vqganGridSize } from '../model/config.ts';
import { GenerationCancelledError } from '../pipeline/errors.ts';
import type { BatchSizes } from '../pipeline/batch-size.ts';
import type { DalleEngine } from '../pipeline/engine.ts';
import type { PromptEncoder } from '../text/prompt-encoder.ts';
import type { BackendChoice } from './backend.ts';
import type { ModelLibrary } from './model-library.ts';
import { toErrorData } from './error-data.ts';
import {
  asOutOfMemory,
  DeviceLostError,
  ModelAlreadyLoadedError,
  ModelNotLoadedError,
  RankerNotLoadedError,
} from './errors.ts';
import type { ClipRanker } from '../pipeline/clip/clip-ranker.ts';
import type { BackendName } from '../pipeline/session-options.ts';
import { explainedByDeviceLoss } from './device-loss.ts';
import { drawImages } from './drawing.ts';
import { drawRanked } from './ranked-drawing.ts';
import { parseWorkerRequest, requestIdOf } from './parse-request.ts';
import type {
  GenerateParams,
  GenerateResult,
  LoadParams,
  LoadProgress,
  RankerParams,
  RequestId,
  WorkerRequest,
  WorkerResponse,
} from './protocol.ts';

export interface LoadedModel {
  readonly engine: DalleEngine;
  readonly text: PromptEncoder;
  readonly backend: BackendChoice;
  /** Images per decoder batch and per VQGAN batch, from the device's memory. */
  readonly batch: BatchSizes;
  /** Settles with a reason if the WebGPU device is lost; this worker cannot run on WebGPU again. */
  readonly deviceLost?: Promise<string>;
  /** RGB per image code, when the model has them: mosaic previews at every step. */
  readonly codeColors?: Uint8Array;
}

/** `signal` aborts the download (a cancel of the load request); sessions already being created finish. */
export type ModelLoader = (
  params: LoadParams,
  onProgress: (progress: LoadProgress) => void,
  signal: AbortSignal,
) => Promise<LoadedModel>;

/** Downloads (through the model store) and loads a CLIP ranker on the DALL·E model's backend. */
export type RankerLoader = (
  params: RankerParams,
  backend: BackendName,
  onProgress: (progress: LoadProgress) => void,
  signal: AbortSignal,
) => Promise<ClipRanker>;

export interface HandlerDeps {
  readonly post: (message: WorkerResponse, transfer: Transferable[]) => void;
  readonly loadModel: ModelLoader;
  /** Absent: this worker cannot rank (load-ranker and ranked drawings fail with RankerNotLoadedError). */
  readonly loadRanker?: RankerLoader;
  /** Manifests and the model store: `inspect` and `storage` requests. */
  readonly library: ModelLibrary;
}

/** Takes any message: it is checked (parse-request.ts) before anything acts on it. */
export type WorkerHandler = (message: unknown) => Promise<void>;

export function createWorkerHandler({ post, loadModel, loadRanker, library }: HandlerDeps): WorkerHandler {
  /** The one model this worker holds, memoized while in flight and dropped on failure so a retry reloads. */
  let loaded:
    | { readonly key: string; readonly model: Promise<LoadedModel>; readonly stop: AbortController; settled: boolean }
    | undefined;
  const cancels = new Map<RequestId, AbortController>();
  /** Generations run one after another: ONNX Runtime on WebGPU cannot run two sessions at once. */
  let queue: Promise<unknown> = Promise.resolve();
  /** Why the GPU device was lost, once it was: every later generation fails fast with it. */
  let lostReason: string | undefined;
  /** The CLIP ranker, by folder URL; a different one replaces it. */
  let ranker: { readonly key: string; readonly model: Promise<ClipRanker> } | undefined;

  async function loadRankerNow(id: RequestId, params: RankerParams, signal: AbortSignal): Promise<void> {
    if (!loaded) throw new ModelNotLoadedError();
    if (!loadRanker) throw new RankerNotLoadedError();
    const { backend } = await loaded.model;
    if (ranker && ranker.key !== params.modelUrl) {
      const previous = ranker.model;
      ranker = undefined;
      await previous.then((old) => old.dispose()).catch(() => undefined);
    }
    if (!ranker) {
      const model = loadRanker(
        params,
        backend.backend,
        (progress) => post({ type: 'load-progress', id, progress }, []),
        signal,
      );
      ranker = { key: params.modelUrl, model };
      model.catch(() => {
        if (ranker?.model === model) ranker = undefined;
      });
    }
    const { manifest } = await ranker.model;
    post({ type: 'ranker-ready', id, info: { modelId: manifest.modelId, dtype: manifest.dtype } }, []);
  }

  async function load(id: RequestId, params: LoadParams): Promise<void> {
    const key = JSON.stringify([params.modelUrl, params.backend ?? 'auto']);
    if (loaded && loaded.key !== key) throw new ModelAlreadyLoadedError();
    if (loaded && !loaded.settled) {
      // A second request for the load in flight joins it, and its cancel stops it too: the page may have asked
      // twice (a second click while the browser's persistence prompt was open) and then lost the first request.
      const joined = loaded;
      cancels.set(id, joined.stop);
      void joined.model.catch(() => undefined).finally(() => cancels.delete(id));
    }
    if (!loaded) {
      const controller = new AbortController();
      cancels.set(id, controller);
      const model = loadModel(
        params,
        (progress) => post({ type: 'load-progress', id, progress }, []),
        controller.signal,
      );
      const entry = { key, model, stop: controller, settled: false };
      loaded = entry;
      void model
        .catch(() => undefined)
        .finally(() => {
          entry.settled = true;
          cancels.delete(id);
        });
      model.then(
        ({ deviceLost }) => void deviceLost?.then((reason) => (lostReason = reason)),
        () => {
          if (loaded?.model === model) loaded = undefined;
        },
      );
    }
    const { engine, backend, codeColors } = await loaded.model;
    // The colour table goes to the page once per load (48 KB, copied: the worker keeps its own); every step then sends
    // only its codes.
    const mosaic = codeColors ? { colors: codeColors, grid: vqganGridSize(engine.manifest.vqgan) } : undefined;
    post(
      {
        type: 'ready',
        id,
        info: {
          ...backend,
          modelId: engine.manifest.modelId,
          imageSize: engine.manifest.vqgan.resolution,
          ...(mosaic ? { mosaic } : {}),
        },
      },
      [],
    );
  }

  async function generate(id: RequestId, params: GenerateParams, signal: AbortSignal): Promise<void> {
    if (!loaded) throw new ModelNotLoadedError();
    const { engine, text, batch, deviceLost, codeColors } = await loaded.model;
    const prompt = text.encode(params.prompt, params.seed);
    if (signal.aborted) throw new GenerationCancelledError();
    if (lostReason !== undefined) throw new DeviceLostError(lostReason);
    const drawing = { id, params, prompt, engine, text, batch, signal, post };
    let result: GenerateResult;
    try {
      if (params.rank) {
        if (!ranker) throw new RankerNotLoadedError();
        result = await drawRanked({ ...drawing, params: { ...params, rank: params.rank }, ranker: await ranker.model });
      } else {
        // Without code colours the page cannot paint codes: none are sent.
        result = await drawImages(drawing, codeColors !== undefined);
      }
    } catch (error) {
      throw await explainedByDeviceLoss(error, deviceLost);
    }
    if (prompt.ignoredText !== '') result = { ...result, ignoredPromptText: prompt.ignoredText };
    post(
      { type: 'result', id, result },
      result.images.map((image) => image.buffer),
    );
  }

  /** Runs `work` after every earlier generation and ranker load: one model run at a time. */
  function enqueue(id: RequestId, work: (signal: AbortSignal) => Promise<void>): Promise<void> {
    const controller = new AbortController();
    cancels.set(id, controller);
    const run = queue.then(() => work(controller.signal));
    queue = run.catch(() => undefined);
    return run.finally(() => cancels.delete(id));
  }

  return async (message) => {
    let request: WorkerRequest;
    try {
      request = parseWorkerRequest(message);
    } catch (error) {
      post({ type: 'error', id: requestIdOf(message), error: toErrorData(error) }, []);
      return;
    }
    try {
      switch (request.type) {
        case 'inspect':
          return post({ type: 'model-info', id: request.id, info: await library.inspect(request.modelUrl) }, []);
        case 'storage':
          return post({ type: 'storage-report', id: request.id, report: await library.storage(request.request) }, []);
        case 'load':
          return await load(request.id, request.params);
        case 'generate':
          return await enqueue(request.id, (signal) => generate(request.id, request.params, signal));
        case 'load-ranker':
          return await enqueue(request.id, (signal) => loadRankerNow(request.id, request.params, signal));
        case 'cancel':
          cancels.get(request.target)?.abort();
          return;
      }
    } catch (error) {
      post({ type: 'error', id: request.id, error: toErrorData(asOutOfMemory(error)) }, []);
    }
  };
}
