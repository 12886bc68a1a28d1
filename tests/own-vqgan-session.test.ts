/**
 * The VQGAN on our own kernels behind ONNX Runtime's interface (own-vqgan-session.ts): chosen on WASM with ownKernels
 * for every dtype, drawing ONNX Runtime WASM's pixels from the same folder, on two threads as on one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ortWeb from 'onnxruntime-web';
import { vqganGridSize } from '../src/model/config.ts';
import { DalleEngine } from '../src/pipeline/engine.ts';
import { createSession, loadedFile } from '../src/pipeline/runtime.ts';
import type { Session } from '../src/pipeline/runtime.ts';
import { sessionOptionsFor } from '../src/pipeline/session-options.ts';
import { spawnNodeGemmHelper } from '../tools/node/gemm-helper.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { psnr } from '../tools/image-psnr.ts';
import { tinyModel } from './helpers/fixtures.ts';
import type { SpawnGemmHelper } from '../src/kernels/gemm-threads.ts';
import { threadOptions } from '../src/pipeline/own-session.ts';
import type { ModelSource } from '../src/model/model-source.ts';

/** The VQGAN's session options on WASM without our kernels. */
const onWasm = (source: ModelSource) => sessionOptionsFor('wasm', source.manifest)('vqgan');

for (const dtype of ['fp32', 'q8'] as const) {
  void test(`${dtype}: the VQGAN on our kernels draws ONNX Runtime WASM's pixels, on one thread and two`, async () => {
    const source = openModelFolder(tinyModel(dtype));
    const { manifest } = source;
    const options = sessionOptionsFor('wasm', manifest, { ownKernels: {} })('vqgan');
    const { ownKernels, ...onOrt } = options;
    assert.deepEqual(ownKernels, {});
    const ort = await createSession(ortWeb, source, 'vqgan', onOrt);
    const own = await createSession(ortWeb, source, 'vqgan', options);
    let helpers = 0;
    const spawnHelper: SpawnGemmHelper = (init) => (helpers++, spawnNodeGemmHelper(init));
    const twoThreads = { threads: 2, spawnHelper };
    const own2 = await createSession(ortWeb, source, 'vqgan', { ...options, ownKernels: twoThreads });
    // Helpers that failed to start would leave it on one thread (with a warning), which would draw the same pixels.
    assert.equal(helpers, 1);
    assert.equal(threadOptions(twoThreads), twoThreads, 'its helper started');
    const decode = (vqgan: Session) => {
      const sessions = { encoder: vqgan, decoder: vqgan, vqgan };
      const grid = vqganGridSize(manifest.vqgan);
      const codes = Int32Array.from({ length: 2 * grid * grid }, (_, i) => (i * 37 + (i >> 4)) % manifest.vqgan.nEmbed);
      return new DalleEngine(ortWeb, sessions, manifest).decodeImages(codes, 2);
    };
    try {
      assert.equal(loadedFile(own), `${manifest.graphs.vqgan.file} (own kernels)`);
      const [want, got, got2] = [await decode(ort), await decode(own), await decode(own2)];
      const db = psnr(got, want);
      assert.ok(db >= 80, `${db.toFixed(1)} dB`);
      assert.deepEqual(got2, got);
    } finally {
      await Promise.all([ort.release(), own.release(), own2.release()]);
    }
  });
}

void test('the VQGAN on our kernels refuses codes of the wrong shape, as ONNX Runtime would', async () => {
  const source = openModelFolder(tinyModel('q8'));
  const own = await createSession(
    ortWeb,
    source,
    'vqgan',
    sessionOptionsFor('wasm', source.manifest, { ownKernels: {} })('vqgan'),
  );
  try {
    const codes = new ortWeb.Tensor('int64', new BigInt64Array(5), [1, 5]);
    await assert.rejects(own.run({ codes }), /must be int64 \[images, \d+\]/);
  } finally {
    await own.release();
  }
});

void test('helpers that cannot start leave the VQGAN on one thread, with a warning, and later graphs ask for one', async () => {
  const source = openModelFolder(tinyModel('q8'));
  const warnings: unknown[] = [];
  const warn = console.warn;
  console.warn = (message: unknown) => warnings.push(message);
  let spawned = 0;
  const noWorkers: SpawnGemmHelper = () => {
    spawned++;
    return { ready: Promise.reject(new Error('Worker is not defined')), stop: () => Promise.resolve() };
  };
  const options = { threads: 2, spawnHelper: noWorkers };
  try {
    const own = await createSession(ortWeb, source, 'vqgan', { ...onWasm(source), ownKernels: options });
    await own.release();
    assert.deepEqual(threadOptions(options), {}, 'the next graph of this spawner asks for one thread');
  } finally {
    console.warn = warn;
  }
  assert.equal(spawned, 1);
  assert.equal(warnings.length, 1);
  assert.match(String(warnings[0]), /helper threads did not start \(Error: Worker is not defined\)/);
});
