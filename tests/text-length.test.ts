/**
 * Encoding only the prompt rows' unpadded tokens (docs/model-format.md#text-length) decodes like
 * padding them to maxTextLength: same greedy tokens, logits within float rounding.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ENCODER_INPUTS } from '../src/model/graph-io.ts';
import type { ModelManifest } from '../src/model/manifest.ts';
import { DalleEngine } from '../src/pipeline/engine.ts';
import { loadDalle } from '../src/pipeline/load-dalle.ts';
import type { Session } from '../src/pipeline/runtime.ts';
import { sessionOptionsFor } from '../src/pipeline/session-options.ts';
import { TEXT_LENGTH_STEP, encodedTextLength, trimsText } from '../src/pipeline/text-length.ts';
import type { EncodedPrompt } from '../src/text/bpe-tokenizer.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { tinyModel, withoutInt8Decoder } from './helpers/fixtures.ts';
import { ort, relativeError } from './helpers/graphs.ts';
import { fixedTextLength } from './helpers/manifests.ts';

const STEPS = 6;
const TOLERANCE = 1e-4;

function argmaxes(logits: Float32Array, rows: number): number[] {
  const width = logits.length / rows;
  return Array.from({ length: rows }, (_, r) => {
    let best = 0;
    for (let j = 1; j < width; j++) if (logits[r * width + j]! > logits[r * width + best]!) best = j;
    return best;
  });
}

for (const dtype of ['fp32', 'q8'] as const) {
  // The float host-cache decoder: the comparison below is to float rounding, not to int8 activations'.
  const source = withoutInt8Decoder(openModelFolder(tinyModel(dtype)));
  const { manifest } = source;
  const loaded = await loadDalle(ort, source, sessionOptionsFor('wasm', manifest), { hostCacheGraph: true });
  after(() => loaded.dispose());
  const T = manifest.dalleBart.maxTextLength;

  /** An engine over the loaded sessions whose encoder records the text length of each run. */
  function engineFor(modelManifest: ModelManifest, fed: number[]): DalleEngine {
    const { sessions } = loaded.engine;
    const encoder = Object.create(sessions.encoder) as Session;
    encoder.run = (async (...args: Parameters<Session['run']>) => {
      fed.push(args[0][ENCODER_INPUTS.inputIds]!.dims[1]!);
      return sessions.encoder.run(...args);
    }) as Session['run'];
    return new DalleEngine(ort, { ...sessions, encoder }, modelManifest, { hostCacheGraph: true });
  }

  const long = loaded.text.encode(Array.from({ length: T }, (_, i) => `word${i}`).join(' '), 1);
  const cases: [string, EncodedPrompt, number][] = [
    ['a short prompt (7 tokens)', loaded.text.encode('a red apple', 1), TEXT_LENGTH_STEP],
    ['a 10-token prompt', loaded.text.encode('a photo of an astronaut riding a horse', 1), 2 * TEXT_LENGTH_STEP],
    ['the empty prompt (the unconditional row)', loaded.text.unconditional, TEXT_LENGTH_STEP],
    [`a prompt of all ${T} tokens (nothing to trim)`, long, T],
  ];

  void test(`${dtype}: the export declares a symbolic text axis; older manifests are padded to maxTextLength`, () => {
    assert.equal(trimsText(manifest), true);
    assert.equal(trimsText(fixedTextLength(manifest)), false);
    assert.equal(long.attentionMask.indexOf(0), -1, 'the long prompt fills every position');
    const prompt = loaded.text.encode('a red apple', 1);
    assert.equal(encodedTextLength(fixedTextLength(manifest), [prompt, loaded.text.unconditional]), T);
  });

  for (const [name, prompt, length] of cases) {
    void test(`${dtype}: ${name} trimmed to ${length} decodes like padded to ${T}`, async () => {
      const fed: number[] = [];
      const trimmed = engineFor(manifest, fed);
      const padded = engineFor(fixedTextLength(manifest), fed);
      const n = 2;
      const runs = [
        await trimmed.beginDecoding(prompt, loaded.text.unconditional, n),
        await padded.beginDecoding(prompt, loaded.text.unconditional, n),
      ];
      assert.deepEqual(fed, [length, T]);
      let previous = new Array<number>(n).fill(manifest.specialTokens.imageStart);
      try {
        for (let step = 0; step < STEPS; step++) {
          const [a, b] = [await runs[0]!.step(previous), await runs[1]!.step(previous)];
          const err = relativeError(a, b);
          assert.ok(err <= TOLERANCE, `step ${step}: relative error ${err}`);
          const greedy = argmaxes(b, 2 * n);
          assert.deepEqual(argmaxes(a, 2 * n), greedy, `step ${step}: greedy tokens`);
          previous = greedy.slice(0, n).map((code) => code % manifest.specialTokens.imageCodes);
        }
      } finally {
        for (const run of runs) run.dispose();
      }
    });
  }
}
