/**
 * The engine's KV cache paths (host buffers written one slot per step, present.* fed back, two preallocated sets
 * written in turn) decode alike.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import * as ortNode from 'onnxruntime-node';
import { SlotWriteDecoder } from '../src/pipeline/decoder-run.ts';
import type { CacheSlotWriter } from '../src/pipeline/decoder-run.ts';
import { DalleEngine } from '../src/pipeline/engine.ts';
import { loadDalle } from '../src/pipeline/load-dalle.ts';
import type { Tensor } from '../src/pipeline/runtime.ts';
import { sessionOptionsFor } from '../src/pipeline/session-options.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { tinyModel } from './helpers/fixtures.ts';
import { ort } from './helpers/graphs.ts';
import { hostSlotWriter } from './helpers/host-slots.ts';

for (const dtype of ['fp32', 'fp16'] as const) {
  const source = openModelFolder(tinyModel(dtype));
  const loaded = await loadDalle(ort, source, sessionOptionsFor('wasm', source.manifest));
  after(() => loaded.dispose());

  void test(`${dtype}: host cache and fed-back cache give identical logits at every step (3 images)`, async () => {
    const host = loaded.engine;
    const fedBack = new DalleEngine(ort, host.sessions, source.manifest, { cacheOnDevice: true });
    assert.equal(host.hostCache, true);
    assert.equal(fedBack.hostCache, false);
    const prompt = loaded.text.encode('a red apple', 1);
    const runs = [
      await host.beginDecoding(prompt, loaded.text.unconditional, 3),
      await fedBack.beginDecoding(prompt, loaded.text.unconditional, 3),
    ];
    const S = source.manifest.dalleBart.imageLength;
    for (let step = 0; step < S; step++) {
      const previous = [0, 1, 2].map((i) =>
        step === 0 ? source.manifest.specialTokens.imageStart : (step * 31 + i * 7) % 1000,
      );
      const a = await runs[0]!.step(previous);
      const b = await runs[1]!.step(previous);
      assert.deepEqual(a, b, `step ${step}`);
    }
    for (const run of runs) run.dispose();
  });
}

/**
 * Two preallocated cache sets written in turn (SwappedCacheDecoder, what the worker does on WebGPU with GPU buffers),
 * run here on onnxruntime-node, which also writes outputs into the tensors it is given: the same logits as the
 * cache the runtime allocates every step, and no cache tensor made after the first step.
 */
void test('two preallocated cache sets used in turn decode like present.* fed back (onnxruntime-node)', async () => {
  const source = openModelFolder(tinyModel('fp32'));
  const loaded = await loadDalle(ortNode, source, () => ({}), { cacheOnDevice: true });
  after(() => loaded.dispose());
  const made: Tensor[] = [];
  const cacheTensors = (type: 'float32' | 'float16', dims: readonly number[]): Promise<Tensor> => {
    assert.equal(type, 'float32');
    const tensor = new ortNode.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
    made.push(tensor);
    return Promise.resolve(tensor as Tensor);
  };
  const swapped = new DalleEngine(ortNode, loaded.engine.sessions, source.manifest, {
    cacheOnDevice: true,
    cacheTensors,
  });
  const prompt = loaded.text.encode('a red apple', 1);
  const runs = [
    await loaded.engine.beginDecoding(prompt, loaded.text.unconditional, 2),
    await swapped.beginDecoding(prompt, loaded.text.unconditional, 2),
  ];
  const c = source.manifest.dalleBart;
  const perSet = 2 * c.decoderLayers;
  assert.equal(made.length, 2 * perSet, 'two sets, made when the run begins');
  for (let step = 0; step < c.imageLength; step++) {
    const previous = [0, 1].map((i) => (step === 0 ? source.manifest.specialTokens.imageStart : (step * 17 + i) % 900));
    assert.deepEqual(await runs[1]!.step(previous), await runs[0]!.step(previous), `step ${step}`);
  }
  assert.equal(made.length, 2 * perSet, 'nothing allocated per step');
  for (const run of runs) run.dispose();
});

/**
 * One preallocated cache set written one slot per step by a CacheSlotWriter (SlotWriteDecoder, what the worker does on
 * WebGPU with a shader), run here on the host-cache graph with a writer on the host: the same logits as the host
 * cache at every step, and the runtime never sees a present.* output.
 */
void test('a cache written one slot per step by a slot writer decodes like the host cache', async () => {
  const source = openModelFolder(tinyModel('fp32'));
  const options = sessionOptionsFor('wasm', source.manifest);
  const loaded = await loadDalle(ort, source, options, { hostCacheGraph: true });
  after(() => loaded.dispose());
  let writes = 0;
  const cacheSlots: CacheSlotWriter = (layers, position) => {
    writes++;
    return hostSlotWriter(layers, position);
  };
  const cacheTensors = (type: 'float32' | 'float16', dims: readonly number[]): Promise<Tensor> =>
    Promise.resolve(new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims) as Tensor);
  const slotWritten = new DalleEngine(ort, loaded.engine.sessions, source.manifest, {
    cacheOnDevice: true,
    cacheTensors,
    cacheSlots,
  });
  const prompt = loaded.text.encode('a red apple', 1);
  const runs = [
    await loaded.engine.beginDecoding(prompt, loaded.text.unconditional, 2),
    await slotWritten.beginDecoding(prompt, loaded.text.unconditional, 2),
  ];
  assert.ok(runs[1] instanceof SlotWriteDecoder);
  const c = source.manifest.dalleBart;
  for (let step = 0; step < c.imageLength; step++) {
    const previous = [0, 1].map((i) => (step === 0 ? source.manifest.specialTokens.imageStart : (step * 13 + i) % 700));
    assert.deepEqual(await runs[1].step(previous), await runs[0]!.step(previous), `step ${step}`);
  }
  assert.equal(writes, c.imageLength);
  for (const run of runs) run.dispose();
});
