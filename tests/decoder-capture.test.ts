/**
 * The engine's captured decoder (EngineOptions.graphCapture), run on onnxruntime-node, which writes outputs into the
 * tensors it is given (without the capture flag and the GPU output location, which it has no use for and which would
 * leave those tensors unwritten): everything else runs as on WebGPU (one session per row count with
 * every shape fixed, its inputs and outputs in tensors bound for its life, ids and position written into them, the
 * text at its full length, slot writes, the cache reused across prompts). It must decode like the step-by-step host
 * cache on the same full-length text. The real capture and replay on WebGPU: e2e/gpu-shaders.spec.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ortNode from 'onnxruntime-node';
import { DECODER_INPUTS } from '../src/model/graph-io.ts';
import type { GraphName } from '../src/model/graph-io.ts';
import type { ModelManifest } from '../src/model/manifest.ts';
import type { ModelSource } from '../src/model/model-source.ts';
import { capturedDecoderOptions } from '../src/pipeline/decoder-capture.ts';
import type { DecoderCapture } from '../src/pipeline/decoder-capture.ts';
import type { DecoderRun } from '../src/pipeline/decoder-run.ts';
import { capturesDecoder } from '../src/pipeline/engine.ts';
import { loadDalle } from '../src/pipeline/load-dalle.ts';
import { graphFile } from '../src/pipeline/runtime.ts';
import type { OrtApi, Session, SessionOptions, Tensor } from '../src/pipeline/runtime.ts';
import { DEFAULT_SAMPLING } from '../src/pipeline/sampler.ts';
import { foldsDecoderOnWebgpu, foldsWeights, sessionOptionsFor } from '../src/pipeline/session-options.ts';
import { PRESET_SHAPES } from '../tools/exporter/presets.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { tinyModel } from './helpers/fixtures.ts';
import { hostSlotWriter } from './helpers/host-slots.ts';
import { fixedTextLength, withoutDequantizeGraph } from './helpers/manifests.ts';

const source = openModelFolder(tinyModel('fp32'));
const { manifest } = source;

/** Host tensors standing in for the device's: writes and copies are typed-array sets, a borrowed tensor shares data. */
const hostCapture: DecoderCapture = {
  tensor: (type, dims) => {
    const size = dims.reduce((a, b) => a * b, 1);
    const data = type === 'int64' ? new BigInt64Array(size) : new Float32Array(size);
    return Promise.resolve(new ortNode.Tensor(type as 'float32', data as Float32Array, dims) as Tensor);
  },
  write: (target, values) => (target.data as BigInt64Array).set(values),
  clear: (target) => (target.data as Float32Array).fill(0),
  copy: (source, target, ranges) => {
    const [from, to] = [source.data as Float32Array, target.data as Float32Array];
    for (const { from: at, to: into, count } of ranges ?? [{ from: 0, to: 0, count: to.length }])
      to.set(from.subarray(at, at + count), into);
  },
  borrow: (target) => new ortNode.Tensor('float32', target.data as Float32Array, target.dims),
};

type NodeOptions = Parameters<typeof ortNode.InferenceSession.create>[1];
type Fetches = Parameters<Session['run']>[1];

/**
 * onnxruntime-node without the options only WebGPU uses. Its captured decoder sessions keep the output tensors of
 * their first run and write later runs' outputs into them too, as onnxruntime-web's binding does; they are counted as
 * they are made, run and released, with the options they got. `refuse` fails every session asked to capture, when it
 * is created or when it runs.
 */
function nodeOrt(refuse?: 'create' | 'run') {
  const made: { options: NodeOptions; runs: number; released: number }[] = [];
  const create = async (model: Uint8Array, options: NodeOptions & { enableGraphCapture?: boolean }) => {
    const { preferredOutputLocation, enableGraphCapture, ...cpu } = options;
    assert.ok(preferredOutputLocation === undefined || preferredOutputLocation === 'gpu-buffer');
    if (refuse === 'create' && enableGraphCapture) throw new Error('this runtime cannot capture');
    const session = await ortNode.InferenceSession.create(model, cpu);
    if (!session.inputNames.includes(DECODER_INPUTS.position)) return session;
    const entry = { options, runs: 0, released: 0 };
    made.push(entry);
    const counted = Object.create(session) as Session;
    let bound: Record<string, Tensor> | undefined;
    counted.run = (async (feeds: Record<string, Tensor>, fetches: Fetches) => {
      entry.runs++;
      if (refuse === 'run' && enableGraphCapture) throw new Error('this capture failed');
      if (!enableGraphCapture || !Array.isArray(fetches)) {
        bound = fetches as Record<string, Tensor>;
        return session.run(feeds, fetches as never);
      }
      const outputs = await session.run(feeds, fetches as never);
      for (const [name, tensor] of Object.entries(outputs))
        (bound![name]!.data as Float32Array).set(tensor.data as Float32Array);
      return outputs;
    }) as Session['run'];
    counted.release = () => {
      entry.released++;
      return session.release();
    };
    return counted;
  };
  const ort = { Tensor: ortNode.Tensor, InferenceSession: { create } } as unknown as OrtApi;
  return { ort, made };
}

const captureOptions = {
  cacheOnDevice: true,
  hostCacheGraph: true,
  cacheTensors: (type: 'float32' | 'float16', dims: readonly number[]) => hostCapture.tensor(type, dims),
  cacheSlots: hostSlotWriter,
  graphCapture: hostCapture,
  capturedImages: 2,
} as const;

void test('captured session options fix every symbolic axis and keep the outputs on the GPU', () => {
  const options = capturedDecoderOptions({ executionProviders: ['webgpu'] }, manifest, 6);
  assert.deepEqual(options.freeDimensionOverrides, { batch: 6, text: 64, past_slots: manifest.dalleBart.imageLength });
  assert.equal(options.enableGraphCapture, true);
  assert.equal(options.preferredOutputLocation, 'gpu-buffer');
  assert.deepEqual(options.executionProviders, [{ name: 'webgpu' }], 'as an object, which both WebGPU builds read');
  assert.equal(manifest.graphs.decoder.graphCapture, true, 'the exporter marks its fp32 decoder capturable');
  assert.equal(manifest.graphs.decoder.captureFile, undefined, 'whose host-cache file is the one captured');
  // q4's embedding gathers int8 rows, which WebGPU cannot: a captured session loads a file with a float table.
  const q4 = openModelFolder(tinyModel('q4')).manifest.graphs.decoder;
  assert.equal(q4.graphCapture, true);
  assert.equal(graphFile(q4, capturedDecoderOptions({}, manifest, 2), true), 'decoder_capture.onnx');
  assert.equal(graphFile(q4, {}, true), 'decoder_host_cache.onnx');
  // q8's too; it is captured where WebGPU folds its weights at load (below).
  const q8 = openModelFolder(tinyModel('q8')).manifest.graphs.decoder;
  assert.equal(q8.graphCapture, true);
  assert.equal(graphFile(q8, capturedDecoderOptions({}, manifest, 2), true), 'decoder_capture.onnx');
});

void test('WebGPU dequantizes a q8 decoder’s weights once where they fit (ORT folds them where memory allows), and captures only such a decoder', () => {
  const tinyQ8 = openModelFolder(tinyModel('q8')).manifest;
  const shaped = (preset: 'mini' | 'mega'): ModelManifest => ({
    ...tinyQ8,
    dalleBart: PRESET_SHAPES[preset].dalleBart,
  });
  // mini: 193 M linear weights, 0.77 GB as float32; mega: 1.24 G, 5 GB. Dequantized on the GPU by the folder's
  // graph whatever the page's memory; folded by ONNX Runtime (a folder without that graph) only with ≥ 8 GiB.
  assert.deepEqual([foldsDecoderOnWebgpu(shaped('mini'), 8), foldsDecoderOnWebgpu(shaped('mini'), 4)], [true, true]);
  assert.equal(foldsDecoderOnWebgpu(shaped('mega'), 8), false);
  const withoutGraph = withoutDequantizeGraph(shaped('mini'));
  assert.deepEqual([foldsDecoderOnWebgpu(withoutGraph, 8), foldsDecoderOnWebgpu(withoutGraph, 4)], [true, false]);
  assert.equal(sessionOptionsFor('webgpu', withoutGraph, { foldDecoder: true })('decoder').dequantizeOnce, undefined);
  const webgpu = (m: ModelManifest, foldDecoder: boolean) => sessionOptionsFor('webgpu', m, { foldDecoder });
  const folds = (m: ModelManifest, graph: GraphName) => foldsWeights(webgpu(m, true)(graph));
  assert.deepEqual([folds(shaped('mini'), 'decoder'), folds(shaped('mega'), 'decoder')], [true, false]);
  assert.equal(foldsWeights(webgpu(shaped('mini'), false)('decoder')), false);
  // Only the decoder, which runs every step; the encoder and the VQGAN dequantize per run.
  assert.deepEqual([folds(shaped('mini'), 'encoder'), folds(shaped('mini'), 'vqgan')], [false, false]);
  // Nothing to fold in other dtypes; WASM folds every graph.
  for (const dtype of ['fp32', 'q4'] as const)
    assert.equal(folds(openModelFolder(tinyModel(dtype)).manifest, 'decoder'), false);
  assert.equal(foldsWeights(sessionOptionsFor('wasm', tinyQ8)('decoder')), true);
  const captures = (m: ModelManifest, foldDecoder: boolean) =>
    capturesDecoder(captureOptions, m, webgpu(m, foldDecoder)('decoder'));
  assert.equal(captures(shaped('mini'), true), true);
  assert.equal(captures(shaped('mini'), false), false, 'unfolded: its per-step float32 copies');
  assert.equal(captures(shaped('mega'), true), false);
  // A folder from before q8's capture file: its int8 embedding rows would keep a node on the CPU.
  const { captureFile, ...olderDecoder } = shaped('mini').graphs.decoder;
  assert.equal(captureFile, 'decoder_capture.onnx');
  const older = { ...shaped('mini'), graphs: { ...shaped('mini').graphs, decoder: olderDecoder } };
  assert.equal(captures(older, true), false);
  assert.equal(captures(openModelFolder(tinyModel('q4')).manifest, false), true);
});

/** Both runs fed the same tokens for `steps` steps: their logits agree at every step. */
async function decodeAlike(runs: DecoderRun[], images: number, steps: number, label: string): Promise<void> {
  for (let step = 0; step < steps; step++) {
    const previous = Array.from({ length: images }, (_, i) =>
      step === 0 ? manifest.specialTokens.imageStart : (step * 31 + i * 7) % manifest.specialTokens.imageCodes,
    );
    const got = await runs[0]!.step(previous);
    const want = await runs[1]!.step(previous);
    assert.equal(got.length, want.length);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
    assert.ok(worst < 1e-5, `${label}, step ${step}: logits ${worst} apart`);
  }
}

void test('a captured decoder decodes like the step-by-step host cache, across prompts and image counts', async () => {
  const { ort, made } = nodeOrt();
  const captured = await loadDalle(ort, source, () => ({}), captureOptions);
  const reference = await loadDalle(ortNode, { ...source, manifest: fixedTextLength(manifest) }, () => ({}), {
    hostCacheGraph: true,
  });
  assert.equal(captured.engine.decoderCaptured, true);
  assert.deepEqual(
    made.map(({ options, runs }) => [options!.freeDimensionOverrides, runs]),
    [[{ batch: 4, text: 64, past_slots: 256 }, 2]],
    'loaded captured for capturedImages, and run twice at load (warm-up and capture)',
  );
  const S = manifest.dalleBart.imageLength;
  // 2 images twice (the second prompt on the same session and tensors), 1 image (padded to 2), then 3: a new session.
  const plan = [
    { images: 2, prompt: 'a red apple', steps: S },
    { images: 2, prompt: 'a blue circle on a green square', steps: 40 },
    { images: 1, prompt: 'a red apple', steps: 40 },
    { images: 3, prompt: 'two cats', steps: 40 },
    { images: 2, prompt: 'two cats', steps: 40 },
  ];
  for (const { images, prompt, steps } of plan) {
    const encoded = captured.text.encode(prompt, 1);
    const runs = [
      await captured.engine.beginDecoding(encoded, captured.text.unconditional, images),
      await reference.engine.beginDecoding(encoded, reference.text.unconditional, images),
    ];
    await decodeAlike(runs, images, steps, `${images} image(s), "${prompt}"`);
    for (const run of runs) run.dispose();
  }
  assert.deepEqual(
    made.map(({ options, released }) => [options!.freeDimensionOverrides!['batch'], released]),
    [
      [4, 1],
      [6, 0],
    ],
    'a larger batch replaced the session; smaller ones ran on it',
  );
  await captured.dispose();
  await reference.dispose();
  assert.deepEqual(
    made.map(({ released }) => released),
    [1, 1],
    'dispose releases the session the engine holds, each once',
  );
});

for (const dtype of ['q8', 'q4'] as const)
  void test(`${dtype}: the capture file (its embedding from a float table) decodes like the host cache`, async () => {
    const folder = openModelFolder(tinyModel(dtype));
    // q8 as in a folder without a dequantization graph: captured where ONNX Runtime folds its weights at load.
    const { weightInputsFile, dequantizeFile } = folder.manifest.graphs.decoder;
    const manifest = withoutDequantizeGraph(folder.manifest);
    const choices = { foldDecoder: dtype === 'q8' };
    await decodesLikeHostCache({ ...folder, manifest }, choices, 'decoder_capture.onnx', dtype);
    assert.equal(weightInputsFile === undefined, dtype === 'q4', 'q8 exports carry the dequantization graph');
    assert.equal(dequantizeFile === undefined, dtype === 'q4');
  });

void test('q8: weights dequantized once by the dequantization graph decode like the host cache, captured or not', async () => {
  const folder = openModelFolder(tinyModel('q8'));
  const entry = folder.manifest.graphs.decoder;
  assert.equal(entry.weightInputsFile, 'decoder_weight_inputs.onnx');
  assert.equal(entry.dequantizeFile, 'decoder_dequantize.onnx');
  // As on WebGPU where the decoder's weights fit: dequantized once, so it can be captured.
  await decodesLikeHostCache(folder, { foldDecoder: true }, 'decoder_weight_inputs.onnx', 'q8 weight inputs');
  const options = sessionOptionsFor('webgpu', folder.manifest, { foldDecoder: true })('decoder');
  assert.equal(options.dequantizeOnce, true);
  assert.equal(options.extra, undefined, 'nothing left for ONNX Runtime to fold');
  const loaded = await loadDalle(ortNode, folder, () => ({ dequantizeOnce: true }), { hostCacheGraph: true });
  assert.equal(loaded.decoderFile, 'decoder_weight_inputs.onnx');
  const decoder = loaded.engine.sessions.decoder;
  assert.ok(
    decoder.inputNames.every((name) => !name.endsWith(':dequantized')),
    'the engine sees the decoder’s own inputs only',
  );
  await loaded.dispose();
});

for (const capture of [false, true])
  void test(`q8: where dequantizing the weights at load fails, the decoder dequantizes them at every step${capture ? ', uncaptured' : ''}`, async () => {
    const folder = openModelFolder(tinyModel('q8'));
    // A runtime that cannot run the dequantization graph (the one graph without inputs), e.g. for want of GPU memory.
    const { ort: base, made } = nodeOrt();
    const create = async (model: Uint8Array, options: NodeOptions) => {
      const session = await base.InferenceSession.create(model, options);
      if (session.inputNames.length > 0) return session;
      await session.release();
      throw new Error('out of memory');
    };
    const ort = { Tensor: ortNode.Tensor, InferenceSession: { create } } as unknown as OrtApi;
    const warn = console.warn;
    const warnings: unknown[] = [];
    console.warn = (...args: unknown[]) => warnings.push(args[0]);
    try {
      const engineOptions = capture ? captureOptions : { hostCacheGraph: true };
      const loaded = await loadDalle(ort, folder, () => ({ dequantizeOnce: true }), engineOptions);
      assert.equal(loaded.engine.decoderCaptured, false);
      assert.equal(loaded.decoderFile, 'decoder_host_cache.onnx');
      assert.deepEqual(
        loaded.engine.sessions.decoder.inputNames.filter((name) => name.endsWith(':dequantized')),
        [],
      );
      assert.match(String(warnings.at(-1)), /dequantized at every step/);
      assert.equal(made.length, 1, 'no captured session was made with weights dequantized every step');
      const request = {
        prompt: loaded.text.encode('a red apple', 3),
        unconditional: loaded.text.unconditional,
        count: 1,
        seed: 7,
        sampling: DEFAULT_SAMPLING,
      };
      assert.equal((await loaded.engine.generateTokens(request)).length, manifest.dalleBart.imageLength);
      await loaded.dispose();
    } finally {
      console.warn = warn;
    }
  });

/** The captured decoder WebGPU would load for `folder` (with `choices`) decodes like the step-by-step host cache. */
async function decodesLikeHostCache(
  folder: ModelSource,
  choices: { foldDecoder: boolean },
  file: string,
  label: string,
): Promise<void> {
  const options = sessionOptionsFor('webgpu', folder.manifest, choices)('decoder');
  // Every graph folded to float32 at load, as on WASM: natively, a q8 DequantizeLinear → MatMul would run in integers
  // (nothing is left to fold in a weight-inputs decoder). onnxruntime-node takes no WebGPU provider or output location.
  const folded = (): SessionOptions => ({ extra: { session: { disable_quant_qdq: '1' } } });
  const cpu = (): SessionOptions => ({ ...folded(), ...(options.dequantizeOnce ? { dequantizeOnce: true } : {}) });
  const captured = await loadDalle(nodeOrt().ort, folder, cpu, captureOptions);
  const reference = await loadDalle(ortNode, { ...folder, manifest: fixedTextLength(folder.manifest) }, folded, {
    hostCacheGraph: true,
  });
  assert.equal(captured.engine.decoderCaptured, true);
  assert.equal(captured.decoderFile, file);
  assert.equal(reference.decoderFile, 'decoder_host_cache.onnx');
  const encoded = captured.text.encode('a red apple', 1);
  const runs = [
    await captured.engine.beginDecoding(encoded, captured.text.unconditional, 2),
    await reference.engine.beginDecoding(encoded, reference.text.unconditional, 2),
  ];
  await decodeAlike(runs, 2, 40, label);
  for (const run of runs) run.dispose();
  await captured.dispose();
  await reference.dispose();
}

void test('a run whose captured decoder a newer run took over says so instead of reading its prompt', async () => {
  const captured = await loadDalle(nodeOrt().ort, source, () => ({}), captureOptions);
  const encoded = captured.text.encode('a red apple', 1);
  const older = await captured.engine.beginDecoding(encoded, captured.text.unconditional, 2);
  await older.step([manifest.specialTokens.imageStart, manifest.specialTokens.imageStart]);
  const newer = await captured.engine.beginDecoding(encoded, captured.text.unconditional, 1);
  await assert.rejects(older.step([1, 2]), /a newer decoding has taken over/);
  await newer.step([manifest.specialTokens.imageStart]);
  newer.dispose();
  older.dispose();
  await captured.dispose();
});

for (const refuse of ['create', 'run'] as const)
  void test(`a runtime that cannot capture the decoder (${refuse}) runs it step by step, and loses nothing`, async () => {
    const { ort, made } = nodeOrt(refuse);
    const loaded = await loadDalle(ort, source, () => ({}), captureOptions);
    assert.equal(loaded.engine.decoderCaptured, false);
    const uncaptured = made.filter(({ options }) => options!.freeDimensionOverrides === undefined);
    assert.equal(uncaptured.length, 1, 'the decoder, loaded again without capture');
    assert.deepEqual(
      made.map(({ released }) => released),
      refuse === 'create' ? [0] : [1, 0],
      'the failed captured session released',
    );
    const request = {
      prompt: loaded.text.encode('a red apple', 3),
      unconditional: loaded.text.unconditional,
      count: 2,
      seed: 7,
      sampling: DEFAULT_SAMPLING,
    };
    const tokens = await loaded.engine.generateTokens(request);
    assert.equal(tokens.length, 2 * manifest.dalleBart.imageLength);
    await loaded.dispose();
    assert.ok(made.every(({ released }) => released === 1));
  });

void test('sampled tokens of a captured decoder are those of the step-by-step one', async () => {
  const captured = await loadDalle(nodeOrt().ort, source, () => ({}), captureOptions);
  const reference = await loadDalle(ortNode, { ...source, manifest: fixedTextLength(manifest) }, () => ({}), {
    hostCacheGraph: true,
  });
  // 3 images on a decoder captured for 2: a new session at the first batch, then 1 image padded on it.
  const request = {
    prompt: captured.text.encode('a red apple', 3),
    unconditional: captured.text.unconditional,
    count: 3,
    seed: 7,
    sampling: DEFAULT_SAMPLING,
  };
  assert.deepEqual(await captured.engine.generateTokens(request), await reference.engine.generateTokens(request));
  const one = { ...request, count: 1, seed: 8 };
  assert.deepEqual(await captured.engine.generateTokens(one), await reference.engine.generateTokens(one));
  await captured.dispose();
  await reference.dispose();
});
