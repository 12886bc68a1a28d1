/**
 * The page's side of the worker: promise-returning calls over the message protocol. Each call waits
 * in a pending map under its request id; if the worker dies, every pending call is rejected.
 */
import { fromErrorData } from './error-data.ts';
import { WorkerCrashedError } from './errors.ts';
import { UNKNOWN_REQUEST_ID } from './protocol.ts';
import type {
  GenerateParams,
  GeneratePreview,
  GenerateResult,
  LoadParams,
  LoadProgress,
  ModelInfo,
  RankedUpdate,
  RankerInfo,
  RankerParams,
  ReadyInfo,
  RequestId,
  SampledCodes,
  StepProgress,
  StorageAction,
  StorageReport,
  WorkerRequest,
  WorkerResponse,
} from './protocol.ts';

/** What the UI needs from a generator; the worker client is one, an in-thread fake can be another. */
export interface DalleGenerator {
  /** What loading the model at `modelUrl` would download, and whether it is stored. */
  inspect(modelUrl: string): Promise<ModelInfo>;
  /** Aborting `signal` stops the download (stored pieces are kept); the call rejects with DownloadCancelledError. */
  load(params: LoadParams, onProgress?: (progress: LoadProgress) => void, signal?: AbortSignal): Promise<ReadyInfo>;
  storage(action: StorageAction): Promise<StorageReport>;
  /** Loads a CLIP ranker after the model (absent where a generator cannot rank). */
  loadRanker?(
    params: RankerParams,
    onProgress?: (progress: LoadProgress) => void,
    signal?: AbortSignal,
  ): Promise<RankerInfo>;
  generate(params: GenerateParams, options?: GenerateOptions): Promise<GenerateResult>;
  dispose(): void;
}

export interface GenerateOptions {
  readonly onStep?: (progress: StepProgress) => void;
  /** The codes each step sampled (mosaic previews, painted with ReadyInfo.mosaic). */
  readonly onCodes?: (codes: SampledCodes) => void;
  /** VQGAN-decoded previews of the forming images. */
  readonly onPreview?: (preview: GeneratePreview) => void;
  /** Ranked drawings: the best images so far after each scored part. */
  readonly onRanked?: (update: RankedUpdate) => void;
  /** Aborting sends a cancel; the call then rejects with GenerationCancelledError. */
  readonly signal?: AbortSignal;
}

/** The slice of `Worker` the client uses, so tests can connect it to the handler in-thread. */
export interface WorkerLike {
  postMessage(message: WorkerRequest): void;
  terminate(): void;
  onmessage: ((event: MessageEvent<WorkerResponse>) => void) | null;
  onerror: ((event: ErrorEvent) => void) | null;
  onmessageerror: ((event: MessageEvent) => void) | null;
}

interface Pending {
  /** Handles one response for this request; returns true when the call is settled. */
  readonly handle: (response: WorkerResponse) => boolean;
  readonly reject: (error: Error) => void;
}

export class WorkerClient implements DalleGenerator {
  private nextId: RequestId = 1;
  private readonly pending = new Map<RequestId, Pending>();
  private crashed: Error | undefined;
  /** Whether the worker has answered anything yet (a worker whose script never ran never does). */
  private heard = false;

  constructor(private readonly worker: WorkerLike) {
    worker.onmessage = (event) => this.receive(event.data);
    worker.onerror = (event) => this.crash(event.message || 'script error');
    worker.onmessageerror = () => this.crash('a message could not be read');
  }

  inspect(modelUrl: string): Promise<ModelInfo> {
    return this.call<ModelInfo>(
      { type: 'inspect', id: this.nextId++, modelUrl },
      (response, resolve) => response.type === 'model-info' && resolve(response.info),
    );
  }

  load(params: LoadParams, onProgress?: (progress: LoadProgress) => void, signal?: AbortSignal): Promise<ReadyInfo> {
    const id = this.nextId++;
    return this.cancellable(id, signal, () =>
      this.call<ReadyInfo>({ type: 'load', id, params }, (response, resolve) => {
        if (response.type === 'load-progress') onProgress?.(response.progress);
        else if (response.type === 'ready') return resolve(response.info);
        return false;
      }),
    );
  }

  loadRanker(
    params: RankerParams,
    onProgress?: (progress: LoadProgress) => void,
    signal?: AbortSignal,
  ): Promise<RankerInfo> {
    const id = this.nextId++;
    return this.cancellable(id, signal, () =>
      this.call<RankerInfo>({ type: 'load-ranker', id, params }, (response, resolve) => {
        if (response.type === 'load-progress') onProgress?.(response.progress);
        else if (response.type === 'ranker-ready') return resolve(response.info);
        return false;
      }),
    );
  }

  storage(action: StorageAction): Promise<StorageReport> {
    return this.call<StorageReport>(
      { type: 'storage', id: this.nextId++, request: action },
      (response, resolve) => response.type === 'storage-report' && resolve(response.report),
    );
  }

  generate(params: GenerateParams, options: GenerateOptions = {}): Promise<GenerateResult> {
    const id = this.nextId++;
    return this.cancellable(id, options.signal, () =>
      this.call<GenerateResult>({ type: 'generate', id, params }, (response, resolve) => {
        if (response.type === 'step') options.onStep?.(response.progress);
        else if (response.type === 'codes') options.onCodes?.(response.codes);
        else if (response.type === 'preview') options.onPreview?.(response.preview);
        else if (response.type === 'ranked') options.onRanked?.(response.update);
        else if (response.type === 'result') return resolve(response.result);
        return false;
      }),
    );
  }

  /** Runs `start` (which sends request `id`) and sends a cancel for it when `signal` aborts. */
  private cancellable<T>(id: RequestId, signal: AbortSignal | undefined, start: () => Promise<T>): Promise<T> {
    const onAbort = (): void => this.worker.postMessage({ type: 'cancel', id: this.nextId++, target: id });
    signal?.addEventListener('abort', onAbort, { once: true });
    const result = start();
    if (signal?.aborted) onAbort();
    return result.finally(() => signal?.removeEventListener('abort', onAbort));
  }

  /** Terminating is the hard reset: it also frees the GPU memory the worker held. */
  dispose(): void {
    this.worker.terminate();
    this.crash('the client was disposed');
  }

  private call<T>(
    request: WorkerRequest,
    handle: (response: WorkerResponse, resolve: (value: T) => true) => boolean,
  ): Promise<T> {
    if (this.crashed) return Promise.reject(this.crashed);
    return new Promise<T>((resolve, reject) => {
      const settle = (value: T): true => {
        resolve(value);
        return true;
      };
      this.pending.set(request.id, {
        handle: (response) => {
          if (response.type !== 'error') return handle(response, settle);
          reject(fromErrorData(response.error));
          return true;
        },
        reject,
      });
      this.worker.postMessage(request);
    });
  }

  private receive(response: WorkerResponse): void {
    this.heard = true;
    if (response.type === 'error' && response.id === UNKNOWN_REQUEST_ID) {
      // The worker could not tell which request this answers: a protocol bug, not one call's failure.
      console.error(`DALL·E worker: ${response.error.name}: ${response.error.message}`);
      return;
    }
    const pending = this.pending.get(response.id);
    if (pending?.handle(response)) this.pending.delete(response.id);
  }

  private crash(detail: string): void {
    this.crashed ??= new WorkerCrashedError(detail, !this.heard);
    for (const pending of this.pending.values()) pending.reject(this.crashed);
    this.pending.clear();
  }
}
