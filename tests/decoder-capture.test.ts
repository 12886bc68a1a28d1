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
import type { GraphEntry, ModelManifest } from '../src/model/manifest.ts';
import { capturedDecoderOptions } from '../src/pipeline/decoder-capture.ts';
import type { DecoderCapture } from '../src/pipeline/decoder-capture.ts';
import type { CacheSlotWriter } from '../src/pipeline/decoder-run.ts';
import { loadDalle } from '../src/pipeline/load-dalle.ts';
import type { OrtApi, Session, Tensor } from '../src/pipeline/runtime.ts';
import { DEFAULT_SAMPLING } from '../src/pipeline/sampler.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { tinyModel } from './helpers/fixtures.ts';

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
  copy: (source, target) => (target.data as Float32Array).set(source.data as Float32Array),
  borrow: (target) => new ortNode.Tensor('float32', target.data as Float32Array, target.dims),
};

/** The slot write the WebGPU shader does, on host tensors: keys [B, H, hd, S], values [B, H, S, hd]. */
const hostSlots: CacheSlotWriter = (layers, position) => {
  for (const { newKey, newValue, pastKey, pastValue } of layers) {
    const [, , hd, S] = pastKey.dims as [number, number, number, number];
    const [k, v] = [newKey.data as Float32Array, newValue.data as Float32Array];
    const [keys, values] = [pastKey.data as Float32Array, pastValue.data as Float32Array];
    for (let i = 0; i < k.length; i++) keys[i * S + position] = k[i]!;
    for (let i = 0; i < v.length; i++) values[(Math.floor(i / hd) * S + position) * hd + (i % hd)] = v[i]!;
  }
  return Promise.resolve();
};

type NodeOptions = Parameters<typeof ortNode.InferenceSession.create>[1];

/**
 * onnxruntime-node without the options only WebGPU uses; its decoder sessions counted as they are made and released,
 * with the options they got.
 */
function nodeOrt() {
  const made: { options: NodeOptions; released: number }[] = [];
  const create = async (model: Uint8Array, options: NodeOptions & { enableGraphCapture?: boolean }) => {
    const { preferredOutputLocation, enableGraphCapture, ...cpu } = options;
    assert.ok(preferredOutputLocation === undefined || preferredOutputLocation === 'gpu-buffer');
    assert.ok(enableGraphCapture === undefined || enableGraphCapture);
    const session = await ortNode.InferenceSession.create(model, cpu);
    if (!session.inputNames.includes(DECODER_INPUTS.position)) return session;
    const entry = { options, released: 0 };
    made.push(entry);
    const counted = Object.create(session) as Session;
    counted.release = () => {
      entry.released++;
      return session.release();
    };
    return counted;
  };
  const ort = { Tensor: ortNode.Tensor, InferenceSession: { create } } as unknown as OrtApi;
  return { ort, made };
}

/** The folder as an older export would describe it: the text padded to maxTextLength, as a captured decoder runs it. */
function fullTextLength(m: ModelManifest): ModelManifest {
  const fixed = (entry: GraphEntry): GraphEntry => {
    const copy = { ...entry };
    delete copy.dynamicTextLength;
    return copy;
  };
  return { ...m, graphs: { ...m.graphs, encoder: fixed(m.graphs.encoder), decoder: fixed(m.graphs.decoder) } };
}

const captureOptions = {
  cacheOnDevice: true,
  hostCacheGraph: true,
  cacheTensors: (type: 'float32' | 'float16', dims: readonly number[]) => hostCapture.tensor(type, dims),
  cacheSlots: hostSlots,
  graphCapture: hostCapture,
  capturedImages: 2,
} as const;

void test('captured session options fix every symbolic axis and keep the outputs on the GPU', () => {
  const options = capturedDecoderOptions({ executionProviders: ['webgpu'] }, manifest, 6);
  assert.deepEqual(options.freeDimensionOverrides, { batch: 6, text: 64, past_slots: manifest.dalleBart.imageLength });
  assert.equal(options.enableGraphCapture, true);
  assert.equal(options.preferredOutputLocation, 'gpu-buffer');
  assert.deepEqual(options.executionProviders, [{ name: 'webgpu' }], 'as an object, which both WebGPU builds read');
  assert.equal(manifest.graphs.decoder.graphCapture, true, 'the exporter marks its decoder capturable');
});

void test('a captured decoder decodes like the step-by-step host cache, across prompts and image counts', async () => {
  const { ort, made } = nodeOrt();
  const captured = await loadDalle(ort, source, () => ({}), captureOptions);
  const reference = await loadDalle(ortNode, { ...source, manifest: fullTextLength(manifest) }, () => ({}), {
    hostCacheGraph: true,
  });
  assert.equal(captured.engine.decoderCaptured, true);
  assert.equal(made.length, 1, 'loaded captured for capturedImages');
  assert.deepEqual(made[0]!.options!.freeDimensionOverrides, { batch: 4, text: 64, past_slots: 256 });
  const S = manifest.dalleBart.imageLength;
  // 2 images twice (the second prompt reuses the session and its cache tensors), then 1 and 3 (new sessions).
  const plan = [
    { n: 2, prompt: 'a red apple', steps: S },
    { n: 2, prompt: 'a blue circle on a green square', steps: 40 },
    { n: 1, prompt: 'a red apple', steps: 40 },
    { n: 3, prompt: 'two cats', steps: 40 },
  ];
  for (const { n, prompt, steps } of plan) {
    const encoded = captured.text.encode(prompt, 1);
    const runs = [
      await captured.engine.beginDecoding(encoded, captured.text.unconditional, n),
      await reference.engine.beginDecoding(encoded, reference.text.unconditional, n),
    ];
    for (let step = 0; step < steps; step++) {
      const previous = Array.from({ length: n }, (_, i) =>
        step === 0 ? manifest.specialTokens.imageStart : (step * 31 + i * 7) % manifest.specialTokens.imageCodes,
      );
      const got = await runs[0]!.step(previous);
      const want = await runs[1]!.step(previous);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
      assert.ok(worst < 1e-5, `${n} image(s), "${prompt}", step ${step}: logits ${worst} apart`);
    }
    for (const run of runs) run.dispose();
  }
  assert.deepEqual(
    made.map(({ options }) => options!.freeDimensionOverrides!['batch']),
    [4, 2, 6],
    'one session per row count, the loaded one kept for the second prompt',
  );
  assert.deepEqual(
    made.map(({ released }) => released),
    [1, 1, 0],
  );
  await captured.dispose();
  await reference.dispose();
  assert.deepEqual(
    made.map(({ released }) => released),
    [1, 1, 1],
    'dispose releases the session the engine holds, each once',
  );
});

void test('sampled tokens of a captured decoder are those of the step-by-step one', async () => {
  const captured = await loadDalle(nodeOrt().ort, source, () => ({}), captureOptions);
  const reference = await loadDalle(ortNode, { ...source, manifest: fullTextLength(manifest) }, () => ({}), {
    hostCacheGraph: true,
  });
  const request = {
    prompt: captured.text.encode('a red apple', 3),
    unconditional: captured.text.unconditional,
    count: 3,
    seed: 7,
    sampling: DEFAULT_SAMPLING,
  };
  assert.deepEqual(await captured.engine.generateTokens(request), await reference.engine.generateTokens(request));
  await captured.dispose();
  await reference.dispose();
});
