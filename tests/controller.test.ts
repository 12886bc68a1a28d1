/**
 * The page's controller with fake generators: busy states always end, a lost GPU gets a fresh worker, drawings use
 * the active model's suggested sampling.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { beforeEach, test } from 'node:test';
import { parseCatalog } from '../src/model/catalog.ts';
import { GenerationCancelledError } from '../src/pipeline/errors.ts';
import { DownloadCancelledError } from '../src/store/errors.ts';
import { DEFAULT_SAMPLING } from '../src/pipeline/sampler.ts';
import { createController } from '../src/ui/controller.ts';
import { useRankingStore } from '../src/ui/ranking-store.ts';
import { INITIAL_STATE, setSettings, useAppStore } from '../src/ui/store.ts';
import type { Drawing } from '../src/ui/store.ts';
import type { DalleGenerator, GenerateOptions } from '../src/worker/client.ts';
import { DeviceLostError, WorkerCrashedError } from '../src/worker/errors.ts';
import type {
  GenerateParams,
  GenerateResult,
  LoadParams,
  LoadProgress,
  ModelInfo,
  RankerInfo,
  ReadyInfo,
  StorageReport,
} from '../src/worker/protocol.ts';

/** The ranking store as a page starts with it. */
const RANKING_INITIAL = useRankingStore.getState();
const LOAD: LoadParams = { modelUrl: 'http://test/m/', wasmPaths: 'http://test/ort/' };
const CATALOG_ENTRY = {
  name: 'M',
  description: 'd',
  url: 'm/',
  dtype: 'fp32',
  requires: { webgpu: false, shaderF16: false, memoryBytes: 0 },
};
const READY: ReadyInfo = { backend: 'webgpu', reason: 'test adapter', modelId: 'm', imageSize: 256 };
const RESULT: GenerateResult = {
  images: [new Uint8ClampedArray(256 * 256 * 4)],
  tokens: [new Array<number>(256).fill(5)],
  imageSize: 256,
};

class FakeGenerator implements DalleGenerator {
  loads = 0;
  disposed = false;
  constructor(private readonly outcome: () => Promise<GenerateResult>) {}
  load(_params?: LoadParams, _onProgress?: (progress: LoadProgress) => void): Promise<ReadyInfo> {
    this.loads++;
    return Promise.resolve(READY);
  }
  generate(): Promise<GenerateResult> {
    return this.outcome();
  }
  inspect(): Promise<ModelInfo> {
    return Promise.reject(new Error('not used by these tests'));
  }
  storage(): Promise<StorageReport> {
    return Promise.reject(new Error('not used by these tests'));
  }
  dispose(): void {
    this.disposed = true;
  }
}

beforeEach(() => {
  useAppStore.setState(INITIAL_STATE, true);
  useRankingStore.setState(RANKING_INITIAL, true);
});

void test('a drawing stores images and tokens and leaves the app ready', async () => {
  const controller = createController(() => new FakeGenerator(() => Promise.resolve(RESULT)));
  await controller.load(LOAD);
  useAppStore.setState({ prompt: 'a red apple' });
  await controller.draw();
  const state = useAppStore.getState();
  assert.equal(state.phase, 'ready');
  assert.deepEqual(state.tokens, RESULT.tokens);
  assert.equal(state.error, null);
});

void test('each step’s codes are painted on the page in the colours the load brought; a VQGAN preview lies under later codes', async () => {
  const colors = Uint8Array.from([0, 0, 0, 200, 10, 20, 30, 40, 50]);
  const pixel = (rgba: Uint8ClampedArray | undefined, x: number, y: number): number[] =>
    Array.from(rgba?.slice((y * 256 + x) * 4, (y * 256 + x) * 4 + 4) ?? []);
  const seen: (readonly Uint8ClampedArray[])[] = [];
  class Painting extends FakeGenerator {
    override load(): Promise<ReadyInfo> {
      return Promise.resolve({ ...READY, mosaic: { colors, grid: 16 } });
    }
    override generate(_params?: GenerateParams, options?: GenerateOptions): Promise<GenerateResult> {
      options?.onCodes?.({ first: 0, slot: 0, codes: [1, 2] });
      seen.push(useAppStore.getState().images);
      options?.onPreview?.({ first: 1, images: [new Uint8ClampedArray(256 * 256 * 4).fill(9)], imageSize: 256 });
      options?.onCodes?.({ first: 0, slot: 17, codes: [2, 1] });
      seen.push(useAppStore.getState().images);
      return super.generate();
    }
  }
  const controller = createController(() => new Painting(() => Promise.resolve(RESULT)));
  await controller.load(LOAD);
  setSettings({ count: 2 });
  useAppStore.setState({ prompt: 'a red apple' });
  await controller.draw();
  const [first, second] = seen;
  // Slot 0 of each image is a 16-pixel block of its code's colour; unsampled slots are grey.
  assert.deepEqual(pixel(first?.[0], 15, 15), [200, 10, 20, 255]);
  assert.deepEqual(pixel(first?.[1], 0, 0), [30, 40, 50, 255]);
  assert.deepEqual(pixel(first?.[0], 16, 0), [128, 128, 128, 255]);
  // Image 1's VQGAN preview replaced its mosaic; slot 17 (row 1, column 1) is painted over it.
  assert.deepEqual(pixel(second?.[1], 0, 0), [9, 9, 9, 9]);
  assert.deepEqual(pixel(second?.[1], 16, 16), [200, 10, 20, 9]);
  assert.deepEqual(pixel(second?.[0], 0, 0), [200, 10, 20, 255]);
  assert.deepEqual(pixel(second?.[0], 31, 31), [30, 40, 50, 255]);
  assert.notEqual(first?.[0], second?.[0], 'a repainted image is a new buffer, so the grid redraws it');
  assert.deepEqual(useAppStore.getState().images, RESULT.images, 'the result replaces the previews');
});

void test('an empty prompt is refused before any request', async () => {
  let asked = 0;
  const controller = createController(() => new FakeGenerator(() => (asked++, Promise.resolve(RESULT))));
  await controller.load(LOAD);
  useAppStore.setState({ prompt: '  ' });
  await controller.draw();
  assert.equal(asked, 0);
  assert.match(useAppStore.getState().error ?? '', /Type a prompt/);
});

void test('cancel reports "Cancelled" without an error', async () => {
  const controller = createController(() => new FakeGenerator(() => Promise.reject(new GenerationCancelledError())));
  await controller.load(LOAD);
  useAppStore.setState({ prompt: 'a red apple' });
  await controller.draw();
  assert.equal(useAppStore.getState().progress?.label, 'Cancelled');
  assert.equal(useAppStore.getState().error, null);
  assert.equal(useAppStore.getState().phase, 'ready');
});

void test('cancel pressed while the worker finishes the last images: no result shown, none handed on', async () => {
  let cancelNow = (): void => undefined;
  // The worker answers with its result although the cancel was sent: it was decoding and read the cancel too late.
  const controller = createController(() => new FakeGenerator(() => (cancelNow(), Promise.resolve(RESULT))), {
    onDrawn: () => assert.fail('a cancelled drawing reached the history'),
  });
  cancelNow = () => controller.cancel();
  await controller.load(LOAD);
  useAppStore.setState({ prompt: 'a red apple' });
  await controller.draw();
  const state = useAppStore.getState();
  assert.equal(state.progress?.label, 'Cancelled');
  assert.deepEqual(state.tokens, []);
  assert.deepEqual(state.images, []);
  assert.equal(state.phase, 'ready');
});

void test('CLIP’s download stopped while a drawing waits for it ends the drawing as cancelled, not with an error', async () => {
  class RankerStopped extends FakeGenerator {
    loadRanker(): Promise<RankerInfo> {
      return Promise.reject(new DownloadCancelledError());
    }
  }
  const controller = createController(() => new RankerStopped(() => Promise.resolve(RESULT)));
  await controller.load(LOAD);
  const catalog = readFileSync(new URL('../public/models/catalog.json', import.meta.url), 'utf8');
  const realFetch = globalThis.fetch;
  globalThis.fetch = () => Promise.resolve(new Response(catalog));
  await controller.ranking.configure('http://test/models/catalog.json', undefined).finally(() => {
    globalThis.fetch = realFetch;
  });
  // Ranking on, its ranker past the checks: the drawing waits for the ranker's download, which the visitor stops.
  useRankingStore.setState({ offReason: null, status: 'ready' });
  setSettings({ rank: true });
  useAppStore.setState({ prompt: 'a red apple' });
  await controller.draw();
  assert.equal(useAppStore.getState().progress?.label, 'Cancelled');
  assert.equal(useAppStore.getState().error, null);
  assert.equal(useAppStore.getState().phase, 'ready');
});

void test('a load of another image size clears a grid kept from before it', async () => {
  const controller = createController(() => new FakeGenerator(() => Promise.resolve(RESULT)));
  await controller.load(LOAD);
  useAppStore.setState({ prompt: 'a red apple' });
  await controller.draw();
  await controller.load(LOAD);
  assert.deepEqual(useAppStore.getState().tokens, RESULT.tokens, 'same size: kept');
  class Smaller extends FakeGenerator {
    override load(): Promise<ReadyInfo> {
      return Promise.resolve({ ...READY, imageSize: 64 });
    }
  }
  const other = createController(() => new Smaller(() => Promise.resolve(RESULT)));
  await other.load(LOAD);
  assert.deepEqual(useAppStore.getState().images, []);
});

void test('a lost GPU device replaces the worker, reloads the model and says so', async () => {
  const workers: FakeGenerator[] = [];
  const controller = createController(() => {
    const first = workers.length === 0;
    const worker = new FakeGenerator(() =>
      first ? Promise.reject(new DeviceLostError('device reset')) : Promise.resolve(RESULT),
    );
    workers.push(worker);
    return worker;
  });
  await controller.load(LOAD);
  useAppStore.setState({ prompt: 'a red apple' });
  await controller.draw();
  assert.equal(workers.length, 2);
  assert.ok(workers[0]!.disposed, 'the dead worker is terminated');
  assert.equal(workers[1]!.loads, 1, 'the new worker loads the model again');
  assert.equal(useAppStore.getState().phase, 'ready');
  assert.match(useAppStore.getState().error ?? '', /GPU stopped working \(device reset\)/);
  await controller.draw();
  assert.deepEqual(useAppStore.getState().tokens, RESULT.tokens, 'the next drawing works');
});

void test('after a restart for a lost GPU no download view is left: its Stop button and the disabled controls go', async () => {
  let made = 0;
  class Downloading extends FakeGenerator {
    override load(_params?: LoadParams, onProgress?: (progress: LoadProgress) => void): Promise<ReadyInfo> {
      const file = { path: 'decoder.onnx', state: 'downloading', loaded: 5, total: 10 } as const;
      onProgress?.({ stage: 'download', file, loaded: 5, total: 10, bytesPerSecond: null, secondsLeft: null });
      return super.load();
    }
  }
  const controller = createController(() => {
    made++;
    return new Downloading(() =>
      made === 1 ? Promise.reject(new DeviceLostError('device reset')) : Promise.resolve(RESULT),
    );
  });
  await controller.load(LOAD);
  assert.equal(useAppStore.getState().download, null);
  useAppStore.setState({ prompt: 'a red apple' });
  await controller.draw();
  assert.equal(made, 2, 'the worker was replaced and the model loaded again');
  assert.equal(useAppStore.getState().phase, 'ready');
  assert.equal(useAppStore.getState().download, null);
});

void test('a drawing that fails or is cancelled gives the grid back its last drawing', async () => {
  let outcome: () => Promise<GenerateResult> = () => Promise.resolve(RESULT);
  const controller = createController(() => new FakeGenerator(() => outcome()));
  await controller.load(LOAD);
  useAppStore.setState({ prompt: 'a red apple' });
  await controller.draw();
  const before = useAppStore.getState();
  outcome = () => Promise.reject(new Error('out of memory'));
  useAppStore.setState({ prompt: 'a green pear' });
  await controller.draw();
  const after = useAppStore.getState();
  assert.match(after.error ?? '', /out of memory/);
  assert.equal(after.drawing, before.drawing, 'the shown drawing is still the one its share link and history name');
  assert.equal(after.images, before.images);
  assert.equal(after.tokens, before.tokens);
  outcome = () => Promise.reject(new GenerationCancelledError());
  await controller.draw();
  const cancelled = useAppStore.getState();
  assert.equal(cancelled.error, null);
  assert.equal(cancelled.drawing, before.drawing);
  assert.equal(cancelled.images, before.images);
  assert.equal(cancelled.tokens, before.tokens);
});

void test('a worker that dies while loading is replaced, so loading again works without reloading the page', async () => {
  const workers: FakeGenerator[] = [];
  class Dying extends FakeGenerator {
    override load(): Promise<ReadyInfo> {
      this.loads++;
      return Promise.reject(new WorkerCrashedError('out of memory'));
    }
  }
  const controller = createController(() => {
    workers.push(
      workers.length === 0
        ? new Dying(() => Promise.resolve(RESULT))
        : new FakeGenerator(() => Promise.resolve(RESULT)),
    );
    return workers.at(-1)!;
  });
  await controller.load(LOAD);
  assert.equal(useAppStore.getState().phase, 'failed');
  assert.match(useAppStore.getState().error ?? '', /stopped unexpectedly/);
  assert.equal(workers.length, 2, 'a fresh worker is ready');
  assert.ok(workers[0]!.disposed);
  await controller.load(LOAD);
  assert.equal(useAppStore.getState().phase, 'ready');
  assert.equal(workers[1]!.loads, 1);
});

void test('Stop reaches the load a restart started after a lost GPU', async () => {
  let made = 0;
  class Stoppable extends FakeGenerator {
    override load(_params?: LoadParams, _onProgress?: unknown, signal?: AbortSignal): Promise<ReadyInfo> {
      if (made === 1) return super.load();
      return new Promise((_, reject) =>
        signal?.addEventListener('abort', () => reject(new DownloadCancelledError()), { once: true }),
      );
    }
  }
  const controller = createController(() => {
    made++;
    return new Stoppable(() => Promise.reject(new DeviceLostError('device reset')));
  });
  await controller.load(LOAD);
  useAppStore.setState({ prompt: 'a red apple' });
  const drawing = controller.draw();
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(made, 2, 'the restart is loading in a fresh worker');
  controller.cancelDownload();
  await drawing;
  assert.equal(useAppStore.getState().phase, 'failed');
  assert.equal(useAppStore.getState().download, null);
});

void test('the seed is sent exactly as typed; one a number cannot hold exactly is refused before any request', async () => {
  const asked: number[] = [];
  class SeedRecorder extends FakeGenerator {
    override generate(params?: GenerateParams): Promise<GenerateResult> {
      if (params) asked.push(params.seed);
      return super.generate();
    }
  }
  const controller = createController(() => new SeedRecorder(() => Promise.resolve(RESULT)));
  await controller.load(LOAD);
  useAppStore.setState({ prompt: 'a red apple' });
  setSettings({ seedText: '4294967295', seedLocked: true });
  await controller.draw();
  setSettings({ seedText: '9007199254740993', seedLocked: true });
  await controller.draw();
  assert.deepEqual(asked, [4294967295]);
  assert.match(useAppStore.getState().error ?? '', /The seed 9007199254740993 is too large/);
});

void test('an unlocked seed is new at every Draw and shown; "draw again" reuses the drawing’s seed, locked', async () => {
  const asked: GenerateParams[] = [];
  class Recorder extends FakeGenerator {
    override generate(params?: GenerateParams): Promise<GenerateResult> {
      if (params) asked.push(params);
      return super.generate();
    }
  }
  const controller = createController(() => new Recorder(() => Promise.resolve(RESULT)));
  await controller.load(LOAD);
  useAppStore.setState({ prompt: 'a red apple' });
  setSettings({ seedLocked: false, count: 2, topK: 7 });
  await controller.draw();
  await controller.draw();
  assert.equal(asked.length, 2);
  assert.notEqual(asked[0]!.seed, asked[1]!.seed);
  assert.equal(useAppStore.getState().settings.seedText, String(asked[1]!.seed));
  assert.equal(asked[1]!.sampling.topK, 7);
  assert.deepEqual(useAppStore.getState().drawing?.seed, asked[1]!.seed);

  useAppStore.setState({ prompt: 'something else' });
  setSettings({ count: 1, topK: 9 });
  await controller.drawAgainFrom(1);
  assert.deepEqual(asked[2], asked[1]);
  assert.equal(useAppStore.getState().settings.seedLocked, true);

  // The widget's way: that one drawing, then its own settings back (it has no seed control to unlock the seed).
  setSettings({ seedLocked: false, count: 1, topK: 9 });
  await controller.drawAgainFrom(1, { once: true });
  assert.deepEqual(asked[3], asked[1]);
  const { seedLocked, count, topK } = useAppStore.getState().settings;
  assert.deepEqual({ seedLocked, count, topK }, { seedLocked: false, count: 1, topK: 9 });
  await controller.draw();
  assert.notEqual(asked[4]!.seed, asked[1]!.seed, 'the next Draw has a new seed');
});

void test("a drawing uses the active model's suggested sampling where the visitor chose none, and records it", async () => {
  const asked: GenerateParams[] = [];
  class Recorder extends FakeGenerator {
    override generate(params?: GenerateParams): Promise<GenerateResult> {
      if (params) asked.push(params);
      return super.generate();
    }
  }
  const drawn: Drawing[] = [];
  const controller = createController(() => new Recorder(() => Promise.resolve(RESULT)), {
    onDrawn: (drawing) => drawn.push(drawing),
  });
  await controller.load(LOAD);
  const { models } = parseCatalog({
    format: 'dalle-mini-web-catalog/1',
    models: [
      { ...CATALOG_ENTRY, id: 'demo', sampling: { conditionScale: 3 } },
      { ...CATALOG_ENTRY, id: 'plain' },
    ],
  });
  useAppStore.setState({ prompt: 'a red circle', catalog: models, selectedModel: 'demo' });
  setSettings({ seedLocked: true, topK: 7 });
  await controller.draw();
  assert.deepEqual(asked[0]!.sampling, { ...DEFAULT_SAMPLING, conditionScale: 3, topK: 7 });
  assert.deepEqual(drawn[0]!.sampling, asked[0]!.sampling, 'the history records the values used');

  await controller.drawAgainFrom(0);
  assert.deepEqual(asked[1]!.sampling, asked[0]!.sampling);
  assert.equal(useAppStore.getState().settings.conditionScale, null, 'still following the model');

  useAppStore.setState({ selectedModel: 'plain' });
  await controller.draw();
  assert.equal(asked[2]!.sampling.conditionScale, DEFAULT_SAMPLING.conditionScale);
});
