/**
 * The q8 encoder on our own WebAssembly kernels (SessionOptions.ownKernels): the encoder graph's outputs within a
 * small distance of ONNX Runtime's on the same files, padding hidden exactly, and what loadDalle reports.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ortWeb from 'onnxruntime-web';
import { UnsupportedGraphError } from '../src/kernels/bart-weights.ts';
import { EncoderPass } from '../src/kernels/encoder-pass.ts';
import { Int8Gemm } from '../src/kernels/int8-gemm.ts';
import { ENCODER_INPUTS } from '../src/model/graph-io.ts';
import { readInitializers } from '../src/model/onnx-initializers.ts';
import { int64 } from '../src/pipeline/decoder-run.ts';
import { loadDalle } from '../src/pipeline/load-dalle.ts';
import { createOwnEncoderSession } from '../src/pipeline/own-encoder-session.ts';
import { createSession, loadedFile } from '../src/pipeline/runtime.ts';
import type { Tensor } from '../src/pipeline/runtime.ts';
import { sessionOptionsFor } from '../src/pipeline/session-options.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { tinyModel } from './helpers/fixtures.ts';

/** Two prompt rows of T tokens, the second padded after `visible` tokens. */
function encoderFeeds(ids: number[], T: number, visible: number): Record<string, Tensor> {
  const mask = Array.from({ length: 2 * T }, (_, i) => (i < T || i - T < visible ? 1 : 0));
  return {
    [ENCODER_INPUTS.inputIds]: int64(ortWeb, ids, [2, T]),
    [ENCODER_INPUTS.attentionMask]: int64(ortWeb, mask, [2, T]),
  };
}

void test('the q8 encoder on our kernels gives ONNX Runtime’s outputs within 1 % of their scale', async () => {
  const source = openModelFolder(tinyModel('q8'));
  const c = source.manifest.dalleBart;
  const options = sessionOptionsFor('wasm', source.manifest, { ownKernels: {} })('encoder');
  const { ownKernels, ...onOrt } = options;
  assert.deepEqual(ownKernels, {});
  const ort = await createSession(ortWeb, source, 'encoder', onOrt);
  const own = await createSession(ortWeb, source, 'encoder', options);
  try {
    assert.equal(loadedFile(own), 'encoder.onnx (own kernels)');
    assert.deepEqual(own.outputNames, ort.outputNames);
    for (const T of [c.maxTextLength, 5]) {
      const ids = Array.from({ length: 2 * T }, (_, i) => (i * 37 + 3) % c.encoderVocabSize);
      const feeds = encoderFeeds(ids, T, 3);
      const [want, got] = [await ort.run(feeds), await own.run(feeds)];
      for (const name of ort.outputNames) {
        assert.deepEqual(got[name]!.dims, want[name]!.dims, name);
        const [x, y] = [want[name]!.data as Float32Array, got[name]!.data as Float32Array];
        const scale = x.reduce((max, v) => Math.max(max, Math.abs(v)), 0);
        const error = x.reduce((max, v, i) => Math.max(max, Math.abs(v - y[i]!)), 0);
        // Measured 4e-4 of the scale on this model, 3e-3 on mini's shape (12-bit activations, 12 layers).
        assert.ok(error < 0.01 * scale, `${name} at T ${T}: error ${error} of ${scale}`);
      }
    }
  } finally {
    await Promise.all([ort.release(), own.release()]);
  }
});

void test('padding is hidden exactly: a padded token’s id changes nothing of the tokens before it', async () => {
  const source = openModelFolder(tinyModel('q8'));
  const own = await createOwnEncoderSession(ortWeb, source, source.manifest.graphs.encoder);
  try {
    const T = 6;
    const ids = [0, 5, 9, 14, 2, 1, 0, 7, 8, 2, 1, 1];
    const changed = [...ids];
    changed[T + 4] = 11;
    const [a, b] = [await own.run(encoderFeeds(ids, T, 4)), await own.run(encoderFeeds(changed, T, 4))];
    const d = source.manifest.dalleBart.dModel;
    const hidden = (r: Record<string, Tensor>) => r['last_hidden_state']!.data as Float32Array;
    // Row 0 entirely, row 1's first 4 positions: bit for bit.
    assert.deepEqual(hidden(a).subarray(0, (T + 4) * d), hidden(b).subarray(0, (T + 4) * d));
    await assert.rejects(own.run({}), /input input_ids is missing/);
  } finally {
    await own.release();
  }
});

void test('loadDalle runs a q8 encoder on our kernels where it asks for them', async () => {
  const dir = tinyModel('q8');
  const source = openModelFolder(dir);
  const loaded = await loadDalle(ortWeb, source, sessionOptionsFor('wasm', source.manifest, { ownKernels: {} }), {
    hostCacheGraph: true,
  });
  try {
    assert.equal(loadedFile(loaded.engine.sessions.encoder), 'encoder.onnx (own kernels)');
    assert.equal(loaded.decoderFile, 'decoder.onnx (own kernels)');
  } finally {
    await loaded.dispose();
  }
});

void test('a model whose heads our attention kernels do not take is left to ONNX Runtime', async () => {
  const source = openModelFolder(tinyModel('q8'));
  const c = source.manifest.dalleBart;
  const entry = source.manifest.graphs.encoder;
  const externalData = await Promise.all(
    entry.externalData.map(async (path) => ({ path, data: await source.readFile(path) })),
  );
  const weights = readInitializers(await source.readFile(entry.file), externalData);
  const gemm = await Int8Gemm.create();
  // Heads of 24 channels: createSession catches UnsupportedGraphError and loads the graph on ONNX Runtime.
  assert.throws(
    () => EncoderPass.fromInitializers({ ...c, dModel: 96, encoderHeads: 4 }, weights, gemm),
    UnsupportedGraphError,
  );
});
