/**
 * The decoder graph without `present.*` (manifest `hostCacheFile`, loaded by CPU runtimes) decodes like
 * the full graph with its cache fed back, and really leaves the whole-cache outputs out.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { cacheNames, newSlotNames } from '../src/model/graph-io.ts';
import { loadDalle } from '../src/pipeline/load-dalle.ts';
import { sessionOptionsFor } from '../src/pipeline/session-options.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { tinyModel, withoutInt8Decoder } from './helpers/fixtures.ts';
import { ort } from './helpers/graphs.ts';

for (const dtype of ['fp32', 'q8'] as const) {
  // The float host-cache graph: q8's int8-activation one, which WASM would load instead, is not the same
  // function (tests/int8-activations.test.ts measures it).
  const source = withoutInt8Decoder(openModelFolder(tinyModel(dtype)));
  const options = sessionOptionsFor('wasm', source.manifest);
  const lean = await loadDalle(ort, source, options, { hostCacheGraph: true });
  const full = await loadDalle(ort, source, options, { cacheOnDevice: true });
  after(() => Promise.all([lean.dispose(), full.dispose()]));

  void test(`${dtype}: the host-cache decoder has new.* and no present.* outputs`, () => {
    const { manifest } = source;
    assert.equal(manifest.graphs.decoder.hostCacheFile, 'decoder_host_cache.onnx');
    const outputs = lean.engine.sessions.decoder.outputNames;
    for (const { key, value } of cacheNames(manifest.dalleBart, 'present')) {
      assert.ok(!outputs.includes(key) && !outputs.includes(value), key);
    }
    for (const { key, value } of newSlotNames(manifest.dalleBart)) {
      assert.ok(outputs.includes(key) && outputs.includes(value), key);
    }
    assert.equal(lean.decoderFile, 'decoder_host_cache.onnx');
    assert.equal(full.decoderFile, 'decoder.onnx');
    assert.equal(lean.engine.hostCache, true);
    assert.equal(full.engine.hostCache, false);
    // Its past.* slot axis is symbolic: the host cache grows in chunks (the identical-logits test crosses them).
    assert.equal(lean.engine.growingCache, true);
    assert.equal(full.engine.growingCache, false);
  });

  void test(`${dtype}: host-cache graph and fed-back full graph give identical logits at every step (2 images)`, async () => {
    const prompt = lean.text.encode('a red apple', 1);
    const runs = [
      await lean.engine.beginDecoding(prompt, lean.text.unconditional, 2),
      await full.engine.beginDecoding(prompt, full.text.unconditional, 2),
    ];
    const S = source.manifest.dalleBart.imageLength;
    for (let step = 0; step < S; step++) {
      const previous = [0, 1].map((i) =>
        step === 0 ? source.manifest.specialTokens.imageStart : (step * 31 + i * 7) % 1000,
      );
      assert.deepEqual(await runs[0]!.step(previous), await runs[1]!.step(previous), `step ${step}`);
    }
    for (const run of runs) run.dispose();
  });
}
