/** The engine's two KV cache paths (host buffers written one slot per step, present.* fed back) decode alike. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { DalleEngine } from '../src/pipeline/engine.ts';
import { loadDalle } from '../src/pipeline/load-dalle.ts';
import { sessionOptionsFor } from '../src/pipeline/session-options.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { tinyModel } from './helpers/fixtures.ts';
import { ort } from './helpers/graphs.ts';

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
