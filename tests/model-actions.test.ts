/**
 * The page's model actions with fake workers: the remembered model is picked, and switching backend reloads in a fresh
 * worker.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, beforeEach, test } from 'node:test';
import { createController } from '../src/ui/controller.ts';
import { useRankingStore } from '../src/ui/ranking-store.ts';
import { startApp } from '../src/ui/start-app.ts';
import { ModelFileUnavailableError } from '../src/model/integrity.ts';
import { DownloadCancelledError, DownloadInterruptedError } from '../src/store/errors.ts';
import { DeviceLostError, OutOfMemoryError, WorkerCrashedError } from '../src/worker/errors.ts';
import { INITIAL_STATE, setSettings, useAppStore } from '../src/ui/store.ts';
import type { DalleGenerator } from '../src/worker/client.ts';
import type { GenerateResult, LoadParams, ModelInfo, ReadyInfo, StorageReport } from '../src/worker/protocol.ts';

const CATALOG = readFileSync(new URL('../public/models/catalog.json', import.meta.url), 'utf8');
const REPORT: StorageReport = {
  storage: { kind: 'memory', notice: 'test' },
  models: [],
  usage: { kind: 'memory', modelBytes: 0 },
};

const RESULT: GenerateResult = {
  images: [new Uint8ClampedArray(256 * 256 * 4)],
  tokens: [new Array<number>(256).fill(5)],
  imageSize: 256,
};

class FakeGenerator implements DalleGenerator {
  readonly loads: LoadParams[] = [];
  disposed = false;
  load(params: LoadParams): Promise<ReadyInfo> {
    this.loads.push(params);
    return Promise.resolve({ backend: params.backend ?? 'webgpu', reason: 'test', modelId: 'm', imageSize: 256 });
  }
  generate(): Promise<GenerateResult> {
    return Promise.reject(new Error('not used'));
  }
  inspect(): Promise<ModelInfo> {
    return Promise.resolve({
      modelId: 'm',
      dtype: 'fp32',
      bytes: 1,
      storedBytes: 1,
      missingBytes: 0,
      complete: true,
      manifestFrom: 'network',
      storage: REPORT.storage,
    });
  }
  storage(): Promise<StorageReport> {
    return Promise.resolve(REPORT);
  }
  dispose(): void {
    this.disposed = true;
  }
}

const realFetch = globalThis.fetch;
const hadNavigator = 'navigator' in globalThis;
beforeEach(() => {
  useAppStore.setState(INITIAL_STATE, true);
  // The page's origin, which the consent panel compares a model's host with.
  Object.defineProperty(globalThis, 'location', { value: { origin: 'http://test' }, configurable: true });
  globalThis.fetch = () => Promise.resolve(new Response(CATALOG));
  // A device with no WebGPU (Node 20 has no navigator at all).
  if (!hadNavigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true });
});
after(() => {
  globalThis.fetch = realFetch;
  Reflect.deleteProperty(globalThis, 'location');
  if (!hadNavigator) Reflect.deleteProperty(globalThis, 'navigator');
});

void test('the remembered model loads; switching backend disposes the worker and loads again, forced', async () => {
  const { controller, workers } = controllerWith(() => new FakeGenerator());
  setSettings({ model: 'dalle-mini-q8', backend: 'auto' });
  await controller.start({ catalogUrl: 'http://test/models/catalog.json', wasmPaths: 'http://test/ort/' });
  assert.equal(useAppStore.getState().selectedModel, 'dalle-mini-q8');
  assert.equal(workers.length, 1);
  assert.equal(workers[0]!.loads[0]!.backend, undefined, 'auto: the worker chooses');
  assert.match(workers[0]!.loads[0]!.modelUrl, /dalle-mini-q8\/$/);

  await controller.selectBackend('wasm');
  assert.equal(useAppStore.getState().settings.backend, 'wasm');
  assert.equal(workers[0]!.disposed, true, 'the old worker is terminated');
  assert.equal(workers.length, 2);
  assert.equal(workers[1]!.loads[0]!.backend, 'wasm');
  assert.equal(useAppStore.getState().phase, 'ready');
  assert.equal(useAppStore.getState().unavailable['dalle-mega-q4'] !== undefined, true, 'mega needs WebGPU');
});

void test('Download clicked again while the browser asks about persistent storage starts one download', async () => {
  let answer: (granted: boolean) => void = () => undefined;
  let prompted: () => void = () => undefined;
  const prompt = new Promise<void>((resolve) => (prompted = resolve));
  const storage = {
    persisted: () => Promise.resolve(false),
    persist: () => new Promise<boolean>((resolve) => ((answer = resolve), prompted())),
    estimate: () => Promise.resolve({ usage: 0, quota: 1e12 }),
  };
  Object.defineProperty(globalThis, 'navigator', { value: { storage }, configurable: true });
  class NotStored extends FakeGenerator {
    override inspect(): Promise<ModelInfo> {
      return super.inspect().then((info) => ({ ...info, storedBytes: 0, missingBytes: 1, complete: false }));
    }
  }
  const worker = new NotStored();
  const controller = createController(() => worker);
  setSettings({ model: 'dalle-mini-q8', backend: 'auto' });
  await controller.start({ catalogUrl: 'http://test/models/catalog.json', wasmPaths: 'http://test/ort/' });
  assert.equal(useAppStore.getState().phase, 'consent', useAppStore.getState().error ?? '');
  const clicks = [controller.acceptDownload()];
  await prompt;
  clicks.push(controller.acceptDownload());
  answer(false);
  await Promise.all(clicks);
  assert.equal(worker.loads.length, 1, 'one download');
  assert.equal(useAppStore.getState().phase, 'ready');
});

void test('picking another model while the first is being checked: the first worker’s end is no error of the second', async () => {
  class Crashing extends FakeGenerator {
    private crash: (error: Error) => void = () => undefined;
    override inspect(): Promise<ModelInfo> {
      return new Promise((_, reject) => (this.crash = reject));
    }
    override dispose(): void {
      super.dispose();
      this.crash(new WorkerCrashedError('the client was disposed'));
    }
  }
  class NotStored extends FakeGenerator {
    override inspect(): Promise<ModelInfo> {
      return super.inspect().then((info) => ({ ...info, storedBytes: 0, missingBytes: 1, complete: false }));
    }
  }
  const { controller, workers } = controllerWith((made) => (made === 0 ? new Crashing() : new NotStored()));
  setSettings({ model: 'demo', backend: 'auto' });
  const starting = controller.start({ catalogUrl: 'http://test/models/catalog.json', wasmPaths: 'http://test/ort/' });
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(useAppStore.getState().selectedModel, 'demo');
  // The real model asks before its download: the page waits on the consent panel, where no stale error may show.
  await controller.selectModel('dalle-mini-q8');
  await starting;
  assert.equal(workers[0]!.disposed, true);
  assert.equal(useAppStore.getState().phase, 'consent');
  assert.equal(useAppStore.getState().error, null);
});

/**
 * navigator.storage as the page sees it: a quota the test may change, `persist` answered by `persist` (counted).
 */
function fakeBrowserStorage(quota: number, persist: () => Promise<boolean> = () => Promise.resolve(false)) {
  const state = { quota, persistAsked: 0 };
  const storage = {
    persisted: () => Promise.resolve(false),
    persist: () => (state.persistAsked++, persist()),
    estimate: () => Promise.resolve({ usage: 0, quota: state.quota }),
  };
  Object.defineProperty(globalThis, 'navigator', { value: { storage }, configurable: true });
  return state;
}

/** A worker whose drawing loses the GPU device. */
class LosesDevice extends FakeGenerator {
  override generate(): Promise<GenerateResult> {
    return Promise.reject(new DeviceLostError('device reset'));
  }
}

/** A model whose download is under way until the visitor stops it; each later load finishes. */
class StoppableDownload extends FakeGenerator {
  constructor(private readonly stopsFirst = true) {
    super();
  }
  override inspect(): Promise<ModelInfo> {
    return super.inspect().then((info) => ({ ...info, bytes: 4, storedBytes: 1, missingBytes: 3, complete: false }));
  }
  override load(params: LoadParams, _onProgress?: unknown, signal?: AbortSignal): Promise<ReadyInfo> {
    if (!this.stopsFirst || this.loads.push(params) > 1) return super.load(params);
    return new Promise((_, reject) =>
      signal?.addEventListener('abort', () => reject(new DownloadCancelledError()), { once: true }),
    );
  }
}

/** A controller whose workers `make` builds in turn (`made`: how many came before), kept for the test to look at. */
function controllerWith(make: (made: number) => FakeGenerator): {
  controller: ReturnType<typeof createController>;
  workers: FakeGenerator[];
} {
  const workers: FakeGenerator[] = [];
  const controller = createController(() => {
    workers.push(make(workers.length));
    return workers.at(-1)!;
  });
  return { controller, workers };
}

/** A controller whose first worker's download runs until the visitor stops it; later workers' loads finish. */
function stoppedFirstWorker(): { controller: ReturnType<typeof createController>; workers: StoppableDownload[] } {
  const workers: StoppableDownload[] = [];
  const controller = createController(() => {
    workers.push(new StoppableDownload(workers.length === 0));
    return workers.at(-1)!;
  });
  return { controller, workers };
}

void test('Stop on a model that loads without asking offers its download again, so the page has a way on', async () => {
  const worker = new StoppableDownload();
  const controller = createController(() => worker);
  setSettings({ model: 'demo', backend: 'auto' });
  const starting = controller.start({ catalogUrl: 'http://test/models/catalog.json', wasmPaths: 'http://test/ort/' });
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(worker.loads.length, 1, 'the demo loads without asking');
  controller.cancelDownload();
  await starting;
  const state = useAppStore.getState();
  assert.equal(state.phase, 'consent');
  assert.equal(state.offer?.model.id, 'demo');
  assert.equal(state.offer?.missingBytes, 3, 'what arrived is kept');
  assert.match(state.error ?? '', /download was stopped/);
  await controller.acceptDownload();
  assert.equal(useAppStore.getState().phase, 'ready');
});

void test('Stop on the load a restart after a lost GPU started offers the download again', async () => {
  const { controller, workers } = controllerWith((made) => (made === 0 ? new LosesDevice() : new StoppableDownload()));
  setSettings({ model: 'demo', backend: 'auto' });
  await controller.start({ catalogUrl: 'http://test/models/catalog.json', wasmPaths: 'http://test/ort/' });
  assert.equal(useAppStore.getState().phase, 'ready');
  useAppStore.setState({ prompt: 'a red apple' });
  const drawing = controller.draw();
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(workers.length, 2, 'the restart is loading in a fresh worker');
  controller.cancelDownload();
  await drawing;
  assert.equal(useAppStore.getState().phase, 'consent');
  assert.equal(useAppStore.getState().offer?.model.id, 'demo');
});

void test('the page starts while the browser still asks about persistent storage, its ranker picked before Draw', async () => {
  const storage = {
    persisted: () => Promise.resolve(false),
    // Firefox's prompt, left open.
    persist: () => new Promise<boolean>(() => undefined),
    estimate: () => Promise.resolve({ usage: 0, quota: 1e12 }),
  };
  Object.defineProperty(globalThis, 'navigator', { value: { storage }, configurable: true });
  const flags = { getItem: () => null, setItem: () => undefined };
  Object.defineProperty(globalThis, 'localStorage', { value: flags, configurable: true });
  class Stored extends FakeGenerator {
    override storage(): Promise<StorageReport> {
      const demo = {
        id: 'demo-shapes/fp32',
        modelId: 'demo-shapes',
        dtype: 'fp32',
        savedAt: 0,
        sharedBytes: 0,
      } as const;
      return Promise.resolve({
        ...REPORT,
        models: [{ ...demo, bytes: 1, storedBytes: 1, missingBytes: 0, complete: true }],
      });
    }
  }
  const controller = createController(() => new Stored());
  setSettings({ model: 'demo', backend: 'auto', rank: true });
  const start = { catalogUrl: 'http://test/models/catalog.json', wasmPaths: 'http://test/ort/' };
  await startApp(controller, start, ['a problem of the URL.']);
  const state = useAppStore.getState();
  assert.equal(state.phase, 'ready');
  assert.equal(state.error, 'a problem of the URL.');
  assert.equal(useRankingStore.getState().ranker?.id, 'clip-demo', 'the demo’s own ranker');
  Reflect.deleteProperty(globalThis, 'localStorage');
});

void test('Stop pressed once the files are in stops nothing: the model loads and no download is offered', async () => {
  class LateStop extends StoppableDownload {
    constructor() {
      super(false);
    }
    // The worker no longer listens for the abort: its sessions are being made.
    override load(params: LoadParams, _onProgress?: unknown, signal?: AbortSignal): Promise<ReadyInfo> {
      return new Promise((resolve) => signal?.addEventListener('abort', () => resolve(super.load(params))));
    }
  }
  const controller = createController(() => new LateStop());
  setSettings({ model: 'demo', backend: 'auto' });
  const starting = controller.start({ catalogUrl: 'http://test/models/catalog.json', wasmPaths: 'http://test/ort/' });
  await new Promise((resolve) => setTimeout(resolve, 10));
  controller.cancelDownload();
  await starting;
  assert.equal(useAppStore.getState().phase, 'ready');
  assert.equal(useAppStore.getState().offer, null);
});

void test('space freed in the storage panel lets the offered download start', async () => {
  const space = fakeBrowserStorage(2);
  const controller = createController(() => new StoppableDownload(false));
  setSettings({ model: 'dalle-mini-q8', backend: 'auto' });
  await controller.start({ catalogUrl: 'http://test/models/catalog.json', wasmPaths: 'http://test/ort/' });
  assert.equal(useAppStore.getState().phase, 'consent');
  assert.match(useAppStore.getState().offer?.spaceProblem ?? '', /space/i, '3 bytes missing, 2 free');
  space.quota = 1e12;
  await controller.deleteStored('other-model/fp32');
  assert.equal(useAppStore.getState().offer?.spaceProblem, null);
  await controller.acceptDownload();
  assert.equal(useAppStore.getState().phase, 'ready');
});

void test('after a lost GPU, a model that asks first and is no longer stored is offered, not downloaded unasked', async () => {
  // The first worker had the model stored; it was deleted since (or it lived in memory, gone with the worker).
  const { controller, workers } = controllerWith((made) =>
    made === 0 ? new LosesDevice() : new StoppableDownload(false),
  );
  setSettings({ model: 'dalle-mini-q8', backend: 'auto' });
  await controller.start({ catalogUrl: 'http://test/models/catalog.json', wasmPaths: 'http://test/ort/' });
  assert.equal(useAppStore.getState().phase, 'ready');
  useAppStore.setState({ prompt: 'a red apple' });
  await controller.draw();
  assert.equal(workers.length, 2);
  assert.equal(workers[1]!.loads.length, 0, 'nothing downloaded unasked');
  assert.equal(useAppStore.getState().phase, 'consent');
  assert.match(useAppStore.getState().error ?? '', /device reset|GPU/i);
  await controller.acceptDownload();
  assert.equal(useAppStore.getState().phase, 'ready');
});

void test('storage allowed while the model downloads into memory: the load starts again in a fresh worker', async () => {
  const { controller, workers } = stoppedFirstWorker();
  setSettings({ model: 'demo', backend: 'auto' });
  const starting = controller.start({ catalogUrl: 'http://test/models/catalog.json', wasmPaths: 'http://test/ort/' });
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(useAppStore.getState().phase, 'loading');
  await controller.reopenStore();
  await starting;
  assert.equal(workers.length, 2, 'a fresh worker probes storage again');
  assert.equal(workers[1]!.loads.length, 1);
  assert.equal(useAppStore.getState().phase, 'ready');
  assert.equal(useAppStore.getState().offer, null);
});

void test('storage allowed while an agreed download runs: it starts again without asking again', async () => {
  const { controller, workers } = stoppedFirstWorker();
  setSettings({ model: 'dalle-mini-q8', backend: 'auto' });
  await controller.start({ catalogUrl: 'http://test/models/catalog.json', wasmPaths: 'http://test/ort/' });
  assert.equal(useAppStore.getState().phase, 'consent');
  const accepted = controller.acceptDownload();
  await new Promise((resolve) => setTimeout(resolve, 10));
  await controller.reopenStore();
  await accepted;
  assert.equal(workers[1]!.loads.length, 1, 'loaded in the fresh worker');
  assert.equal(useAppStore.getState().phase, 'ready');
});

void test('storage allowed while drawing: the drawing ends first and stays on the grid', async () => {
  let finish = (): void => undefined;
  class Drawing extends FakeGenerator {
    override generate(): Promise<GenerateResult> {
      return new Promise((resolve) => (finish = () => resolve(RESULT)));
    }
  }
  const controller = createController(() => new Drawing());
  setSettings({ model: 'demo', backend: 'auto' });
  await controller.start({ catalogUrl: 'http://test/models/catalog.json', wasmPaths: 'http://test/ort/' });
  useAppStore.setState({ prompt: 'a red apple' });
  const drawing = controller.draw();
  await new Promise((resolve) => setTimeout(resolve, 10));
  const reopened = controller.reopenStore();
  finish();
  await Promise.all([drawing, reopened]);
  assert.equal(useAppStore.getState().phase, 'ready');
  assert.deepEqual(useAppStore.getState().tokens, RESULT.tokens, 'the drawing is still shown');
});

void test('no delete while any model load runs (also a restart’s, which no pick started)', async () => {
  const actions: string[] = [];
  class Recording extends FakeGenerator {
    override storage(action?: { action: string }): Promise<StorageReport> {
      actions.push(action?.action ?? '?');
      return super.storage();
    }
  }
  const controller = createController(() => new Recording());
  await controller.load({ modelUrl: 'http://test/models/demo/', wasmPaths: 'http://test/ort/' });
  useAppStore.setState({ phase: 'loading' });
  await controller.deleteStored('demo-shapes/fp32');
  await controller.deleteStored(null);
  assert.deepEqual(actions, []);
});

void test('Stop while a stored model loads offers Load, which asks the browser nothing; a delete turns it into a download offer', async () => {
  let stored = true;
  const space = fakeBrowserStorage(1e12);
  class Deletable extends StoppableDownload {
    override inspect(): Promise<ModelInfo> {
      return stored ? FakeGenerator.prototype.inspect.call(this) : super.inspect();
    }
  }
  const worker = new Deletable();
  const controller = createController(() => worker);
  setSettings({ model: 'demo', backend: 'auto' });
  const starting = controller.start({ catalogUrl: 'http://test/models/catalog.json', wasmPaths: 'http://test/ort/' });
  await new Promise((resolve) => setTimeout(resolve, 10));
  controller.cancelDownload();
  await starting;
  // Offered to load, not loaded again at once; no "download stopped" above "nothing to download".
  assert.equal(worker.loads.length, 1, 'not loaded again unasked');
  assert.equal(useAppStore.getState().phase, 'consent');
  assert.deepEqual([useAppStore.getState().offer?.missingBytes, useAppStore.getState().error], [0, null]);
  stored = false;
  await controller.deleteStored('demo-shapes/fp32');
  assert.equal(useAppStore.getState().offer?.missingBytes, 3, 'the offer says what the download now takes');
  stored = true;
  await controller.deleteStored('other/fp32');
  await controller.acceptDownload();
  assert.equal(useAppStore.getState().phase, 'ready');
  assert.equal(space.persistAsked, 0, 'loading what is stored asks nothing');
});

void test('an agreed download that no longer fits (storage allowed, smaller quota) shows the offer with its space problem', async () => {
  const space = fakeBrowserStorage(1e12);
  const { controller, workers } = stoppedFirstWorker();
  setSettings({ model: 'dalle-mini-q8', backend: 'auto' });
  await controller.start({ catalogUrl: 'http://test/models/catalog.json', wasmPaths: 'http://test/ort/' });
  const accepted = controller.acceptDownload();
  await new Promise((resolve) => setTimeout(resolve, 10));
  space.quota = 2;
  await controller.reopenStore();
  await accepted;
  assert.equal(useAppStore.getState().phase, 'consent');
  assert.notEqual(useAppStore.getState().offer?.spaceProblem, null);
  assert.equal(workers[1]!.loads.length, 0);
});

/** A worker whose first load fails: `missingBytes` left to download (0: the files were in, the sessions failed). */
class FailsFirstLoad extends FakeGenerator {
  constructor(
    private readonly missingBytes: number,
    private readonly failure: Error,
  ) {
    super();
  }
  override inspect(): Promise<ModelInfo> {
    const missingBytes = this.loads.length > 1 ? 0 : this.missingBytes;
    return super.inspect().then((info) => ({ ...info, bytes: 4, missingBytes, complete: missingBytes === 0 }));
  }
  override load(params: LoadParams): Promise<ReadyInfo> {
    if (this.loads.length > 0) return super.load(params);
    this.loads.push(params);
    return Promise.reject(this.failure);
  }
}

void test('a load that fails offers the download (or Load) again with its message, so the page has a way on without a reload', async () => {
  const cases = [
    { missing: 3, failure: new DownloadInterruptedError('decoder.onnx_data', 1, 4, 'network error'), action: 'resume' },
    { missing: 0, failure: new Error('out of memory while creating the decoder'), action: 'load' },
  ];
  for (const { missing, failure, action } of cases) {
    useAppStore.setState(INITIAL_STATE, true);
    const worker = new FailsFirstLoad(missing, failure);
    const controller = createController(() => worker);
    setSettings({ model: 'demo', backend: 'auto' });
    await controller.start({ catalogUrl: 'http://test/models/catalog.json', wasmPaths: 'http://test/ort/' });
    const state = useAppStore.getState();
    assert.equal(state.phase, 'consent', action);
    assert.equal(state.offer?.model.id, 'demo');
    assert.equal(state.offer?.missingBytes, missing);
    assert.match(state.error ?? '', /could not be loaded/, `${action}: the failure is still told`);
    assert.equal(state.offer?.afterFailure, true, 'the widget answers its parent with the failure');
    await controller.acceptDownload();
    assert.equal(useAppStore.getState().phase, 'ready', `${action}: the second try loads`);
    assert.equal(worker.loads.length, 2);
  }
});

void test('the load a restart after a lost GPU started fails: the model is offered again with the failure', async () => {
  const failure = new Error('out of memory while creating the decoder');
  const { controller, workers } = controllerWith((made) =>
    made === 0 ? new LosesDevice() : new FailsFirstLoad(0, failure),
  );
  setSettings({ model: 'demo', backend: 'auto' });
  await controller.start({ catalogUrl: 'http://test/models/catalog.json', wasmPaths: 'http://test/ort/' });
  useAppStore.setState({ prompt: 'a red apple' });
  await controller.draw();
  assert.equal(workers.length, 2, 'the restart loaded in a fresh worker');
  const state = useAppStore.getState();
  assert.equal(state.phase, 'consent');
  assert.equal(state.offer?.model.id, 'demo');
  assert.match(state.error ?? '', /out of memory/);
});

void test('a worker that stops during the model check is replaced, and Try again checks in the new one', async () => {
  // Its storage list fails too, first: as a dead worker fails every call waiting on it.
  class CrashesOnCheck extends FakeGenerator {
    override inspect(): Promise<ModelInfo> {
      return Promise.reject(new WorkerCrashedError('script error'));
    }
    override storage(): Promise<StorageReport> {
      return Promise.reject(new WorkerCrashedError('script error'));
    }
  }
  const { controller, workers } = controllerWith((made) => (made === 0 ? new CrashesOnCheck() : new FakeGenerator()));
  setSettings({ model: 'demo', backend: 'auto' });
  await controller.start({ catalogUrl: 'http://test/models/catalog.json', wasmPaths: 'http://test/ort/' });
  assert.equal(useAppStore.getState().phase, 'failed');
  assert.match(useAppStore.getState().error ?? '', /starts a new one/);
  assert.equal(workers.length, 2, 'as the message says, a new worker');
  assert.equal(workers[0]?.disposed, true);
  await controller.selectModel('demo');
  assert.equal(useAppStore.getState().phase, 'ready');
});

void test('a drawing that ran out of memory starts a fresh worker, which loads the model again', async () => {
  class RunsOutOfMemory extends FakeGenerator {
    override generate(): Promise<GenerateResult> {
      return Promise.reject(new OutOfMemoryError('Array buffer allocation failed'));
    }
  }
  const { controller, workers } = controllerWith((made) => (made === 0 ? new RunsOutOfMemory() : new FakeGenerator()));
  setSettings({ model: 'demo', backend: 'auto' });
  await controller.start({ catalogUrl: 'http://test/models/catalog.json', wasmPaths: 'http://test/ort/' });
  useAppStore.setState({ prompt: 'a red apple' });
  await controller.draw();
  assert.equal(workers.length, 2);
  assert.equal(workers[0]?.disposed, true, 'the worker whose memory ran out is gone');
  assert.equal(workers[1]?.loads.length, 1, 'the model loads again in the fresh one');
  assert.equal(useAppStore.getState().phase, 'ready');
  assert.match(useAppStore.getState().error ?? '', /ran out of memory/);
});

void test('a model folder whose server is busy is not called unpublished; a catalog answered with a web page says so', async () => {
  class BusyServer extends FakeGenerator {
    override inspect(): Promise<ModelInfo> {
      const url = 'http://test/models/demo/manifest.json';
      return Promise.reject(new ModelFileUnavailableError(url, 'the server answered HTTP 503', 503));
    }
  }
  const controller = createController(() => new BusyServer());
  setSettings({ model: 'demo', backend: 'auto' });
  await controller.start({ catalogUrl: 'http://test/models/catalog.json', wasmPaths: 'http://test/ort/' });
  assert.doesNotMatch(useAppStore.getState().error ?? '', /not published/);
  assert.match(useAppStore.getState().error ?? '', /try again later/);

  useAppStore.setState(INITIAL_STATE, true);
  globalThis.fetch = () => Promise.resolve(new Response('<!doctype html><title>Blog</title>'));
  await createController(() => new FakeGenerator()).start({
    catalogUrl: 'http://test/models/catalog.json',
    wasmPaths: 'http://test/ort/',
  });
  assert.match(useAppStore.getState().error ?? '', /is not a model list/);
});
