/**
 * The q8 decoder on our own WebAssembly kernels (SessionOptions.ownKernels) as the pipeline loads it: the engine drives
 * it with the host-cache graph's interface and leaves it the cache, it draws what ONNX Runtime's does within a
 * measured distance of fp32, and a folder it cannot run falls back to ONNX Runtime.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ortWeb from 'onnxruntime-web';
import { loadDalle } from '../src/pipeline/load-dalle.ts';
import {
  CONDITION_SCALE_INPUT,
  createOwnDecoderSession,
  decoderFeeds,
  keepsOwnCache,
} from '../src/pipeline/own-decoder-session.ts';
import { cacheNames, crossAttentionNames, DECODER_OUTPUTS, newSlotNames } from '../src/model/graph-io.ts';
import { fillNormal } from '../tools/exporter/prng.ts';
import { DecoderStep } from '../src/kernels/decoder-step.ts';
import { superCondition } from '../src/pipeline/sampler.ts';
import { ownGemmKernel } from '../src/pipeline/own-session.ts';
import { KernelUnavailableError, relaxedSimdCompiles } from '../src/kernels/gemm-kernel-choice.ts';
import { createOwnEncoderSession } from '../src/pipeline/own-encoder-session.ts';
import { ownKernelsOnWasm, sessionOptionsFor } from '../src/pipeline/session-options.ts';
import { spawnNodeGemmHelper } from '../tools/node/gemm-helper.ts';
import type { GraphName } from '../src/model/graph-io.ts';
import { formatQuantizationReport, measureQuantizationError } from '../tools/exporter/quantization-report.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { demoModel, tinyModel } from './helpers/fixtures.ts';

/** Own kernels asked for whatever the folder (sessionOptionsFor asks only for q8 ones). */
const ownKernels = (dir: string) => {
  const wasm = sessionOptionsFor('wasm', openModelFolder(dir).manifest, { ownKernels: false });
  return (graph: GraphName) => ({ ...wasm(graph), ownKernels: {} });
};

/**
 * Measured on the committed demo model for "a yellow circle on a blue background": 252/256 greedy tokens agree with
 * fp32, mean total variation of the sampling distributions 1.2 % — the float host-cache decoder's 253/256 and 1.1 %,
 * where ONNX Runtime's int8-activation WASM decoder gives 245/256 and 2.8 % (12-bit activations against 8-bit).
 */
void test('the demo model on our own kernels stays close to fp32 (agreement, logits, sampling distance)', async () => {
  const result = await measureQuantizationError(
    demoModel('fp32'),
    demoModel('q8'),
    'a yellow circle on a blue background',
    'own-kernels',
  );
  console.log(formatQuantizationReport(result));
  assert.ok(result.agreement >= 0.95 * result.steps, `agreement ${result.agreement}/${result.steps}`);
  assert.ok(result.maxLogitError < 0.02 * result.logitScale, `max |Δlogit| ${result.maxLogitError}`);
  assert.ok(result.samplingDistance < 0.02, `total variation ${result.samplingDistance}`);
});

void test('loadDalle reports the decoder on our own kernels; a folder that is not q8 falls back to ONNX Runtime', async () => {
  const q8 = await loadDalle(ortWeb, openModelFolder(tinyModel('q8')), ownKernels(tinyModel('q8')), {
    hostCacheGraph: true,
  });
  try {
    assert.equal(q8.decoderFile, 'decoder.onnx (own kernels)');
    // The session keeps its own cache: the engine feeds no past.* and keeps no host cache.
    assert.ok(q8.engine.hostCache && keepsOwnCache(q8.engine.sessions.decoder));
    // One cache per session: a run begun later takes it over, and the earlier one refuses to go on.
    const { manifest } = q8.engine;
    const prompt = q8.text.encode('a red apple', 1);
    const first = await q8.engine.beginDecoding(prompt, q8.text.unconditional, 1);
    const second = await q8.engine.beginDecoding(prompt, q8.text.unconditional, 1);
    const start = [manifest.specialTokens.imageStart];
    await assert.rejects(first.step(start), /another decoder run began on this session/);
    assert.equal((await second.step(start)).length, 2 * (manifest.dalleBart.imageVocabSize + 1));
    first.dispose();
    second.dispose();
    const { decoder } = q8.engine.sessions;
    // Fetching only the logits (a drawing on the session's own cache) leaves out the new slots, the same logits.
    const c = manifest.dalleBart;
    const [H, B, T, S] = [c.decoderHeads, 2, 4, c.imageLength];
    const hd = c.dModel / H;
    const random = (n: number, seed: number) => fillNormal(new Float32Array(n), seed, 0, 1);
    const feeds = decoderFeeds(ortWeb, c, {
      ids: [1, 2],
      position: 0,
      attentionMask: [1, 1, 1, 0, 1, 1, 0, 0],
      cross: crossAttentionNames(c).map((_, l) => ({
        key: random(2 * H * hd * T, l),
        value: random(2 * H * T * hd, 9 + l),
      })),
      past: cacheNames(c, 'past').map(() => ({
        key: new Float32Array(B * H * hd * S),
        value: new Float32Array(B * H * S * hd),
      })),
      pastSlots: S,
    });
    const slotNames = newSlotNames(c).flatMap(({ key, value }) => [key, value]);
    const asked: (boolean | undefined)[] = [];
    const run = Object.getOwnPropertyDescriptor(DecoderStep.prototype, 'run')!.value as DecoderStep['run'];
    DecoderStep.prototype.run = function (inputs) {
      asked.push(inputs.newSlots);
      return run.call(this, inputs);
    };
    const [all, logitsOnly] = await Promise.all([
      decoder.run(feeds),
      decoder.run(feeds, [DECODER_OUTPUTS.logits]),
    ]).finally(() => (DecoderStep.prototype.run = run));
    assert.deepEqual(asked, [true, false], 'the step is asked for its new slots only where they are fetched');
    assert.deepEqual(Object.keys(logitsOnly), [DECODER_OUTPUTS.logits]);
    assert.deepEqual(logitsOnly[DECODER_OUTPUTS.logits]!.data, all[DECODER_OUTPUTS.logits]!.data);
    const withSlots = await decoder.run(feeds, [DECODER_OUTPUTS.logits, ...slotNames]);
    for (const name of slotNames) assert.deepEqual(withSlots[name]!.data, all[name]!.data, name);
    // Bad calls reject, as ONNX Runtime's do.
    await assert.rejects(decoder.run({}, ['logits']), /input input_ids is missing/);
    const preallocated = new ortWeb.Tensor('float32', new Float32Array(1), [1]);
    await assert.rejects(decoder.run({}, { logits: preallocated }), /does not write into preallocated outputs/);
  } finally {
    await q8.dispose();
  }
  const warn = console.warn;
  const warnings: unknown[] = [];
  console.warn = (...args: unknown[]) => void warnings.push(args[0]);
  try {
    const fp32 = await loadDalle(ortWeb, openModelFolder(tinyModel('fp32')), ownKernels(tinyModel('fp32')), {
      hostCacheGraph: true,
    });
    assert.equal(fp32.decoderFile, 'decoder_host_cache.onnx');
    await fp32.dispose();
  } finally {
    console.warn = warn;
  }
  assert.match(String(warnings[0]), /our own kernels cannot run this encoder/);
  assert.match(String(warnings[1]), /our own kernels cannot run this decoder/);
});

/**
 * Super-conditioning before the LM head (DalleEngine.beginDecoding's `guidance`): the same logits as mixing the raw
 * rows' logits, up to the rounding of the mixed rows to 12 bits. The demo model, two images, the raw run's greedy
 * tokens fed to both runs.
 */
void test('our decoder mixes the rows before its LM head: the super-conditioned logits, on half the rows', async () => {
  const dir = demoModel('q8');
  const loaded = await loadDalle(ortWeb, openModelFolder(dir), ownKernels(dir), { hostCacheGraph: true });
  try {
    const { engine, text } = loaded;
    assert.ok(
      keepsOwnCache(engine.sessions.decoder) && engine.sessions.decoder.inputNames.includes(CONDITION_SCALE_INPUT),
    );
    const c = engine.manifest.dalleBart;
    const [vocab, codes, n, steps, scale] = [c.imageVocabSize + 1, engine.manifest.specialTokens.imageCodes, 2, 24, 10];
    const prompt = text.encode('a yellow circle on a blue background', 0);
    const raw = await engine.beginDecoding(prompt, text.unconditional, n);
    assert.ok(!raw.guided);
    const mixed: Float32Array[] = [];
    const fed: number[][] = [];
    let previous = [engine.manifest.specialTokens.imageStart, engine.manifest.specialTokens.imageStart];
    for (let step = 0; step < steps; step++) {
      fed.push(previous);
      const combined = superCondition(await raw.step(previous), n, vocab, codes, scale);
      mixed.push(combined);
      previous = [0, 1].map((i) => argmaxOf(combined.subarray(i * codes, (i + 1) * codes)));
    }
    raw.dispose();
    const guided = await engine.beginDecoding(prompt, text.unconditional, n, scale);
    assert.ok(guided.guided);
    let [worst, largest, agree] = [0, 0, 0];
    for (let step = 0; step < steps; step++) {
      const logits = await guided.step(fed[step]!);
      assert.equal(logits.length, n * vocab);
      for (let i = 0; i < n; i++) {
        const a = mixed[step]!.subarray(i * codes, (i + 1) * codes);
        const b = logits.subarray(i * vocab, i * vocab + codes);
        for (let j = 0; j < codes; j++) {
          worst = Math.max(worst, Math.abs(a[j]! - b[j]!));
          largest = Math.max(largest, Math.abs(a[j]!));
        }
        if (argmaxOf(a) === argmaxOf(b)) agree++;
      }
    }
    guided.dispose();
    console.log(
      `guided vs mixed logits: max |Δ| ${worst.toPrecision(3)} of ${largest.toPrecision(3)}, argmax ${agree}/${n * steps}`,
    );
    assert.ok(worst < 0.01 * largest, `max |Δ| ${worst} of ${largest}`);
    assert.ok(agree >= 0.9 * n * steps, `argmax agreement ${agree}/${n * steps}`);
  } finally {
    await loaded.dispose();
  }
});

function argmaxOf(values: Float32Array): number {
  let best = 0;
  for (let j = 1; j < values.length; j++) if (values[j]! > values[best]!) best = j;
  return best;
}

void test('helper threads that cannot start leave our kernels on one thread, with a warning', async () => {
  const dir = tinyModel('q8');
  const source = openModelFolder(dir);
  let spawned = 0;
  const noWorkers = (): never => {
    spawned++;
    throw new Error('Worker is not defined');
  };
  const warn = console.warn;
  const warnings: unknown[] = [];
  console.warn = (...args: unknown[]) => void warnings.push(args[0]);
  try {
    const options = { threads: 3, spawnHelper: noWorkers, kernel: 'dot16' } as const;
    const decoder = await createOwnDecoderSession(ortWeb, source, source.manifest.graphs.decoder, options);
    // The next graph with the same spawner does not try (and wait for) helpers again.
    const encoder = await createOwnEncoderSession(ortWeb, source, source.manifest.graphs.encoder, options);
    // On one thread, still the kernel asked for.
    assert.deepEqual(ownGemmKernel(decoder), { kernel: 'dot16', reason: 'asked for' });
    assert.deepEqual(ownGemmKernel(encoder), { kernel: 'dot16', reason: 'asked for' });
    await Promise.all([decoder.release(), encoder.release()]);
    if (!relaxedSimdCompiles()) {
      // A kernel this engine lacks is the caller's error, not a helper thread's: no fallback, no warning.
      const relaxed = { threads: 3, spawnHelper: noWorkers, kernel: 'relaxed' } as const;
      await assert.rejects(
        createOwnDecoderSession(ortWeb, source, source.manifest.graphs.decoder, relaxed),
        KernelUnavailableError,
      );
    }
  } finally {
    console.warn = warn;
  }
  assert.equal(spawned, 1);
  assert.equal(warnings.length, 1);
  assert.match(
    String(warnings[0]),
    /helper threads did not start \(Error: Worker is not defined\): running them on one thread/,
  );
});

void test('who runs a q8 encoder and decoder, and the VQGAN, on WASM: our kernels on one thread, and on more where helpers can start', () => {
  assert.deepEqual(ownKernelsOnWasm(1), {});
  assert.equal(ownKernelsOnWasm(3), false, 'no helpers: ONNX Runtime');
  assert.deepEqual(ownKernelsOnWasm(3, spawnNodeGemmHelper), { threads: 3, spawnHelper: spawnNodeGemmHelper });
  const q8 = openModelFolder(tinyModel('q8')).manifest;
  const own = { ownKernels: ownKernelsOnWasm(1) };
  assert.deepEqual(sessionOptionsFor('wasm', q8, own)('decoder').ownKernels, {});
  assert.equal(sessionOptionsFor('wasm', q8)('decoder').ownKernels, undefined, 'asked for, never by default');
  assert.deepEqual(sessionOptionsFor('wasm', q8, own)('encoder').ownKernels, {}, 'the encoder too');
  assert.deepEqual(sessionOptionsFor('wasm', q8, own)('vqgan').ownKernels, {}, 'the VQGAN too');
  assert.equal(sessionOptionsFor('wasm', q8)('vqgan').ownKernels, undefined);
  const fp32 = openModelFolder(tinyModel('fp32')).manifest;
  assert.equal(sessionOptionsFor('wasm', fp32, own)('decoder').ownKernels, undefined);
  assert.deepEqual(sessionOptionsFor('wasm', fp32, own)('vqgan').ownKernels, {}, 'a VQGAN of any dtype');
});
