/**
 * The worker's message handler and the page's client, in Node: plain messages in, posted messages
 * out, with the real tiny model running on onnxruntime-web's WASM backend.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IntegrityError } from '../src/model/integrity.ts';
import { GenerationCancelledError } from '../src/pipeline/errors.ts';
import { loadDalle } from '../src/pipeline/load-dalle.ts';
import { DEFAULT_SAMPLING } from '../src/pipeline/sampler.ts';
import { sessionOptionsFor } from '../src/pipeline/session-options.ts';
import { DownloadCancelledError } from '../src/store/errors.ts';
import { PromptError } from '../src/text/prompt-checks.ts';
import { WorkerClient } from '../src/worker/client.ts';
import type { WorkerLike } from '../src/worker/client.ts';
import { fromErrorData, toErrorData } from '../src/worker/error-data.ts';
import { WorkerCrashedError } from '../src/worker/errors.ts';
import { createWorkerHandler } from '../src/worker/handler.ts';
import type { LoadedModel, ModelLoader, WorkerHandler } from '../src/worker/handler.ts';
import type { GenerateParams, LoadParams, WorkerRequest, WorkerResponse } from '../src/worker/protocol.ts';
import { loadClipRanker } from '../src/pipeline/clip/clip-ranker.ts';
import { openClipFolder, openModelFolder } from '../tools/node/model-folder.ts';
import { tinyClip, tinyModel } from './helpers/fixtures.ts';
import { serveFolder, testLibrary } from './helpers/library.ts';
import { ort } from './helpers/graphs.ts';

const dir = tinyModel('fp32');
const LOAD: LoadParams = { modelUrl: 'http://test/models/tiny/', wasmPaths: 'http://test/ort/' };
const DRAW: GenerateParams = { prompt: 'A red apple', count: 2, seed: 7, sampling: DEFAULT_SAMPLING };

/** Loads the tiny model once; every handler in this file shares it. */
const tinyLoaded: Promise<LoadedModel> = (async () => {
  const dalle = await loadDalle(ort, openModelFolder(dir), sessionOptionsFor('wasm', openModelFolder(dir).manifest));
  return { ...dalle, backend: { backend: 'wasm', reason: 'Node test' }, batch: { decoder: 16, vqgan: 16 } };
})();
const library = testLibrary(serveFolder(dir, LOAD.modelUrl));

const tinyLoader: ModelLoader = async (_params, onProgress) => {
  onProgress({ stage: 'compile', graph: 'encoder' });
  return tinyLoaded;
};

/** A handler whose posted messages are collected, cloned as the browser would clone them. */
function harness(loadModel: ModelLoader = tinyLoader): {
  handle: WorkerHandler;
  posted: WorkerResponse[];
  onPost: (fn: (m: WorkerResponse) => void) => void;
} {
  const posted: WorkerResponse[] = [];
  let listener: ((m: WorkerResponse) => void) | undefined;
  const handle = createWorkerHandler({
    post: (message, transfer) => {
      const copy = structuredClone(message, { transfer });
      posted.push(copy);
      listener?.(copy);
    },
    loadModel,
    library,
  });
  return { handle, posted, onPost: (fn) => (listener = fn) };
}

function only<T extends WorkerResponse['type']>(
  posted: readonly WorkerResponse[],
  type: T,
): Extract<WorkerResponse, { type: T }>[] {
  return posted.filter((m): m is Extract<WorkerResponse, { type: T }> => m.type === type);
}

void test('load posts progress, then ready with the backend, its reason and the model', async () => {
  const { handle, posted } = harness();
  await handle({ type: 'load', id: 1, params: LOAD });
  assert.deepEqual(posted[0], { type: 'load-progress', id: 1, progress: { stage: 'compile', graph: 'encoder' } });
  const { codeColors } = await tinyLoaded;
  assert.ok(codeColors, 'the tiny model ships preview colours');
  assert.deepEqual(posted.at(-1), {
    type: 'ready',
    id: 1,
    info: {
      backend: 'wasm',
      reason: 'Node test',
      modelId: 'random-tiny-seed1',
      imageSize: 256,
      // The code colours reach the page once per load; each step then sends only its codes.
      mosaic: { colors: codeColors, grid: 16 },
    },
  });
});

void test('generate posts every step in order, then RGBA images and the tokens the engine samples for that prompt', async () => {
  const { handle, posted } = harness();
  await handle({ type: 'load', id: 1, params: LOAD });
  await handle({ type: 'generate', id: 2, params: DRAW });

  const steps = only(posted, 'step').map((m) => m.progress.step);
  assert.deepEqual(
    steps,
    Array.from({ length: 256 }, (_, i) => i + 1),
  );
  // Every step but the last sends only its codes, one per image (the model ships code colours, so the page paints
  // them); VQGAN-decoded previews come every 32 steps while they fit the budget (with a mosaic painted, none may
  // come once a decode has been timed: src/pipeline/generate-images.ts PreviewBudget).
  const codes = only(posted, 'codes');
  assert.deepEqual(
    codes.map((m) => [m.codes.first, m.codes.slot, m.codes.codes.length]),
    Array.from({ length: 255 }, (_, slot) => [0, slot, 2]),
  );
  assert.ok(
    codes.every((m) => JSON.stringify(m).length < 100),
    'a step posts a few numbers, not images',
  );
  const previews = only(posted, 'preview');
  assert.ok(previews.length <= 7);
  assert.ok(
    previews.every(
      (m) => m.preview.first === 0 && m.preview.images.length === 2 && m.preview.images[0]!.length === 256 * 256 * 4,
    ),
  );
  const [result] = only(posted, 'result');
  assert.ok(result, JSON.stringify(only(posted, 'error')));
  assert.equal(result.id, 2);
  assert.equal(result.result.imageSize, 256);
  assert.equal(result.result.images.length, 2);
  for (const image of result.result.images) {
    assert.ok(image instanceof Uint8ClampedArray);
    assert.equal(image.length, 256 * 256 * 4);
    assert.ok(new Set(image.filter((_, i) => i % 4 === 0)).size > 1, 'image is not one flat colour');
  }

  const { engine, text } = await tinyLoaded;
  const expected = await engine.generateTokens({
    prompt: text.encode('A red apple', 7),
    unconditional: text.unconditional,
    count: 2,
    seed: 7,
    sampling: DEFAULT_SAMPLING,
  });
  assert.deepEqual(result.result.tokens, [Array.from(expected.subarray(0, 256)), Array.from(expected.subarray(256))]);
  assert.deepEqual(
    codes.map((m) => m.codes.codes),
    Array.from({ length: 255 }, (_, slot) => [expected[slot], expected[256 + slot]]),
  );
});

void test('a model without code colours sends no codes: only VQGAN previews, the first always', async () => {
  const { engine, text, backend, batch } = await tinyLoaded;
  const { handle, posted } = harness(() => Promise.resolve({ engine, text, backend, batch }));
  await handle({ type: 'load', id: 1, params: LOAD });
  const [ready] = only(posted, 'ready');
  assert.equal(ready?.info.mosaic, undefined);
  await handle({ type: 'generate', id: 2, params: { ...DRAW, count: 1 } });
  assert.equal(only(posted, 'codes').length, 0);
  assert.ok(only(posted, 'preview').length >= 1);
  assert.equal(only(posted, 'result').length, 1);
});

void test('bad requests come back as error data naming the error class', async () => {
  const { handle, posted } = harness();
  await handle({ type: 'generate', id: 1, params: DRAW });
  await handle({ type: 'load', id: 2, params: LOAD });
  await handle({ type: 'generate', id: 3, params: { ...DRAW, prompt: '  \n ' } });
  await handle({ type: 'generate', id: 4, params: { ...DRAW, count: 0 } });
  await handle({ type: 'generate', id: 5, params: { ...DRAW, sampling: { ...DEFAULT_SAMPLING, topP: 0 } } });
  await handle({ type: 'load', id: 6, params: { ...LOAD, backend: 'webgpu' } });
  assert.deepEqual(
    only(posted, 'error').map((m) => [m.id, m.error.name]),
    [
      [1, 'ModelNotLoadedError'],
      [3, 'PromptError'],
      [4, 'InvalidRequestError'],
      [5, 'SamplingSettingsError'],
      [6, 'ModelAlreadyLoadedError'],
    ],
  );
});

void test('cancel stops a generation at the next step; the handler keeps working', async () => {
  const { handle, posted, onPost } = harness();
  await handle({ type: 'load', id: 1, params: LOAD });
  onPost((m) => {
    if (m.type === 'step' && m.progress.step === 3) void handle({ type: 'cancel', id: 3, target: 2 });
  });
  await handle({ type: 'generate', id: 2, params: DRAW });
  assert.deepEqual(
    only(posted, 'error').map((m) => [m.id, m.error.name]),
    [[2, 'GenerationCancelledError']],
  );
  assert.equal(only(posted, 'step').filter((m) => m.id === 2).length, 3);

  await handle({ type: 'generate', id: 4, params: { ...DRAW, count: 1 } });
  assert.equal(only(posted, 'result').length, 1);
});

void test('generations queue one after another, never interleaving their steps', async () => {
  const { handle, posted } = harness();
  await handle({ type: 'load', id: 1, params: LOAD });
  await Promise.all([
    handle({ type: 'generate', id: 2, params: { ...DRAW, count: 1 } }),
    handle({ type: 'generate', id: 3, params: { ...DRAW, count: 1, seed: 8 } }),
  ]);
  const order = posted.filter((m) => m.type === 'step' || m.type === 'result').map((m) => m.id);
  assert.deepEqual(order, [...new Array<number>(257).fill(2), ...new Array<number>(257).fill(3)]);
});

void test('a failed load is forgotten, so the next load tries again', async () => {
  let attempts = 0;
  const { handle, posted } = harness(async (params, onProgress) => {
    if (++attempts === 1) throw new IntegrityError('encoder.onnx', 'sha256 aa', 'sha256 bb');
    return tinyLoader(params, onProgress, new AbortController().signal);
  });
  await handle({ type: 'load', id: 1, params: LOAD });
  await handle({ type: 'load', id: 2, params: LOAD });
  const [error] = only(posted, 'error');
  assert.deepEqual(error?.error, {
    name: 'IntegrityError',
    message: new IntegrityError('encoder.onnx', 'sha256 aa', 'sha256 bb').message,
    details: { file: 'encoder.onnx', expected: 'sha256 aa', actual: 'sha256 bb' },
  });
  assert.equal(only(posted, 'ready')[0]?.id, 2);
});

void test('a second load request joins the one in flight, and cancelling either stops the download', async () => {
  let loads = 0;
  const { handle, posted } = harness(
    (_params, _onProgress, signal) =>
      new Promise((_, reject) => {
        loads++;
        signal.addEventListener('abort', () => reject(new DownloadCancelledError()), { once: true });
      }),
  );
  const first = handle({ type: 'load', id: 1, params: LOAD });
  const second = handle({ type: 'load', id: 2, params: LOAD });
  await handle({ type: 'cancel', id: 3, target: 2 });
  await Promise.all([first, second]);
  assert.equal(loads, 1, 'one load for both requests');
  assert.deepEqual(
    only(posted, 'error').map((m) => [m.id, m.error.name]),
    [
      [1, 'DownloadCancelledError'],
      [2, 'DownloadCancelledError'],
    ],
  );
});

void test('errors rebuilt from data keep their class, message and fields', () => {
  const rebuilt = fromErrorData(toErrorData(new IntegrityError('a.onnx', 'x', 'y')));
  assert.ok(rebuilt instanceof IntegrityError);
  assert.equal(rebuilt.name, 'IntegrityError');
  assert.equal(rebuilt.file, 'a.onnx');
  assert.ok(fromErrorData(toErrorData(new PromptError('empty'))) instanceof PromptError);
  const unknown = fromErrorData({ name: 'OrtRunError', message: 'kernel failed' });
  assert.equal(unknown.constructor, Error);
  assert.equal(unknown.name, 'OrtRunError');
  assert.deepEqual(toErrorData('plain string'), { name: 'Error', message: 'plain string' });
});

/** The handler behind a `WorkerLike`, messages cloned both ways as `postMessage` would. */
class InThreadWorker implements WorkerLike {
  onmessage: ((event: MessageEvent<WorkerResponse>) => void) | null = null;
  onerror: ((event: ErrorEvent) => void) | null = null;
  onmessageerror: ((event: MessageEvent) => void) | null = null;
  terminated = false;
  private readonly handle = createWorkerHandler({
    post: (message, transfer) =>
      this.onmessage?.({ data: structuredClone(message, { transfer }) } as MessageEvent<WorkerResponse>),
    loadModel: tinyLoader,
    library,
  });

  postMessage(message: WorkerRequest): void {
    const copy = structuredClone(message);
    setTimeout(() => void this.handle(copy), 0);
  }

  terminate(): void {
    this.terminated = true;
  }

  crash(message: string): void {
    this.onerror?.({ message } as ErrorEvent);
  }
}

void test('client: load and generate resolve with the worker results, progress arrives on the way', async () => {
  const client = new WorkerClient(new InThreadWorker());
  const stages: string[] = [];
  const ready = await client.load(LOAD, (p) => stages.push(p.stage));
  assert.equal(ready.backend, 'wasm');
  assert.deepEqual(stages, ['compile']);
  assert.equal(ready.mosaic?.grid, 16);
  let lastStep = 0;
  const slots: number[] = [];
  const result = await client.generate(
    { ...DRAW, count: 1 },
    { onStep: (p) => (lastStep = p.step), onCodes: ({ slot }) => slots.push(slot) },
  );
  assert.equal(lastStep, 256);
  assert.equal(slots.length, 255);
  assert.equal(result.images.length, 1);
  assert.equal(result.tokens[0]?.length, 256);
});

void test('client: errors reject as their own classes; aborting cancels the generation', async () => {
  const client = new WorkerClient(new InThreadWorker());
  await assert.rejects(client.generate(DRAW), { name: 'ModelNotLoadedError' });
  await client.load(LOAD);
  await assert.rejects(client.generate({ ...DRAW, prompt: '' }), PromptError);
  const controller = new AbortController();
  const drawing = client.generate(DRAW, {
    signal: controller.signal,
    onStep: (p) => p.step === 2 && controller.abort(),
  });
  await assert.rejects(drawing, GenerationCancelledError);
  const aborted = new AbortController();
  aborted.abort();
  await assert.rejects(client.generate(DRAW, { signal: aborted.signal }), GenerationCancelledError);
});

void test('client: a crashed worker rejects every pending call and every later one, saying whether it ever answered', async () => {
  const worker = new InThreadWorker();
  const client = new WorkerClient(worker);
  const loading = client.load(LOAD);
  const drawing = client.generate(DRAW);
  worker.crash('out of memory');
  await assert.rejects(loading, WorkerCrashedError);
  await assert.rejects(drawing, /out of memory/);
  await assert.rejects(client.load(LOAD), WorkerCrashedError);
  await client.load(LOAD).catch((error: WorkerCrashedError) => assert.equal(error.beforeFirstMessage, true));
  client.dispose();
  assert.ok(worker.terminated);
  // One that answered before it died ran its script: its crash is no sign of files gone after an update.
  const answered = new InThreadWorker();
  const ran = new WorkerClient(answered);
  await ran.load(LOAD);
  const late = ran.generate(DRAW);
  answered.crash('out of memory');
  await assert.rejects(late, (error: WorkerCrashedError) => error.beforeFirstMessage === false);
});

void test('after the GPU device is lost, generations fail with DeviceLostError', async () => {
  let lose: (reason: string) => void = () => undefined;
  const deviceLost = new Promise<string>((resolve) => (lose = resolve));
  const { handle, posted } = harness(async (params, onProgress) => ({
    ...(await tinyLoader(params, onProgress, new AbortController().signal)),
    deviceLost,
  }));
  await handle({ type: 'load', id: 1, params: LOAD });
  lose('device reset by the driver');
  await deviceLost;
  await handle({ type: 'generate', id: 2, params: DRAW });
  const [error] = only(posted, 'error');
  assert.equal(error?.error.name, 'DeviceLostError');
  assert.match(error.error.message, /device reset by the driver/);
});

void test('ranked drawings need load-ranker first, then post ranked updates and the best images first with their scores', async () => {
  const posted: WorkerResponse[] = [];
  const handle = createWorkerHandler({
    post: (message, transfer) => posted.push(structuredClone(message, { transfer })),
    loadModel: tinyLoader,
    loadRanker: (_params, backend) => loadClipRanker(ort, openClipFolder(tinyClip()), backend),
    library,
  });
  await handle({ type: 'load', id: 1, params: LOAD });
  const ranked = { ...DRAW, rank: { candidates: 3 } };
  await handle({ type: 'generate', id: 2, params: ranked });
  assert.equal(only(posted, 'error').find((m) => m.id === 2)?.error.name, 'RankerNotLoadedError');
  await handle({ type: 'load-ranker', id: 3, params: { modelUrl: 'http://test/models/clip/' } });
  assert.deepEqual(only(posted, 'ranker-ready')[0], {
    type: 'ranker-ready',
    id: 3,
    info: { modelId: 'random-clip-tiny-seed1', dtype: 'fp32' },
  });
  await handle({ type: 'generate', id: 4, params: ranked });
  const updates = only(posted, 'ranked').filter((m) => m.id === 4);
  assert.equal(updates.length, 1, 'one decoder batch holds all 3 candidates');
  assert.equal(updates[0]!.update.scored, 3);
  const result = only(posted, 'result').find((m) => m.id === 4)!.result;
  assert.equal(result.images.length, 2);
  const { indices, scores } = result.ranking!;
  assert.deepEqual(indices, updates[0]!.update.indices);
  assert.ok(scores[0]! >= scores[1]!, 'best first');
  // Candidate i is image i of a plain drawing of 3.
  await handle({ type: 'generate', id: 5, params: { ...DRAW, count: 3 } });
  const plain = only(posted, 'result').find((m) => m.id === 5)!.result;
  assert.deepEqual(
    result.tokens,
    indices.map((i) => plain.tokens[i]),
  );
});
