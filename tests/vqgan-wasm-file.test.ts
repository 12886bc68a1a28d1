/**
 * The VQGAN's two files (docs/model-format.md#vqgan): `vqgan.onnx` (Conv nodes) for onnxruntime-node and WebGPU,
 * `vqgan_winograd.onnx` (manifest `wasmFile`, Winograd F(4×4, 3×3) over the same weights) for the WASM backend.
 * The loader picks per backend, folders without the second file still load, and both decode the same images.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseBatchSizes } from '../src/pipeline/batch-size.ts';
import { DalleEngine } from '../src/pipeline/engine.ts';
import { loadDalle } from '../src/pipeline/load-dalle.ts';
import { createSession, graphFile, runsOnWasm } from '../src/pipeline/runtime.ts';
import type { Session, SessionOptions } from '../src/pipeline/runtime.ts';
import { foldsWeights, sessionOptionsFor, WASM_SESSION_OPTIONS } from '../src/pipeline/session-options.ts';
import type { ModelSource } from '../src/model/model-source.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { tinyModel } from './helpers/fixtures.ts';
import { ort } from './helpers/graphs.ts';

const source = openModelFolder(tinyModel('q8'));
const { manifest } = source;
const wasm = sessionOptionsFor('wasm', manifest);
const webgpu = sessionOptionsFor('webgpu', manifest);
/** What the bench and the quantization report give onnxruntime-node: no execution provider named. */
const native: SessionOptions = { intraOpNumThreads: 1 };

/** The same folder with a manifest as an exporter before the Winograd file wrote it. */
function withoutWasmFile(folder: ModelSource): ModelSource {
  const { wasmFile, ...vqgan } = folder.manifest.graphs.vqgan;
  assert.ok(wasmFile !== undefined);
  return { ...folder, manifest: { ...folder.manifest, graphs: { ...folder.manifest.graphs, vqgan } } };
}

void test('the export has a Winograd VQGAN over the same weights: one more graph file, no second copy of them', () => {
  const { vqgan } = manifest.graphs;
  assert.equal(vqgan.file, 'vqgan.onnx');
  assert.equal(vqgan.wasmFile, 'vqgan_winograd.onnx');
  const bytes = (path: string): number => manifest.files.find((f) => f.path === path)!.bytes;
  const weights = vqgan.externalData.reduce((sum, path) => sum + bytes(path), 0);
  assert.ok(weights > 0);
  // The graph file holds nodes and small constants; the weights stay in the shared external data.
  assert.ok(bytes(vqgan.wasmFile) < weights / 4, `${bytes(vqgan.wasmFile)} vs ${weights} bytes of weights`);
});

void test('the loader picks the VQGAN file per backend', () => {
  const { vqgan, decoder } = manifest.graphs;
  assert.equal(runsOnWasm(wasm('vqgan')), true);
  assert.equal(runsOnWasm(webgpu('vqgan')), false);
  assert.equal(runsOnWasm(native), false);
  assert.equal(graphFile(vqgan, wasm('vqgan'), false), 'vqgan_winograd.onnx');
  assert.equal(graphFile(vqgan, webgpu('vqgan'), false), 'vqgan.onnx');
  assert.equal(graphFile(vqgan, native, false), 'vqgan.onnx');
  assert.equal(graphFile(vqgan, { executionProviders: [{ name: 'wasm' }] }, false), 'vqgan_winograd.onnx');
  assert.equal(graphFile(vqgan, { executionProviders: ['webgpu', 'wasm'] }, false), 'vqgan.onnx');
  // Older folders: the Conv graph everywhere.
  assert.equal(graphFile(withoutWasmFile(source).manifest.graphs.vqgan, wasm('vqgan'), false), 'vqgan.onnx');
  // The decoder's variants follow the host cache, and on WASM its int8 one (tests/int8-activations.test.ts).
  assert.equal(graphFile(decoder, wasm('decoder'), true), 'decoder_host_cache_int8.onnx');
  assert.equal(graphFile(decoder, native, true), 'decoder_host_cache.onnx');
  assert.equal(graphFile(decoder, wasm('decoder'), false), 'decoder.onnx');
});

void test('WASM batch sizes leave room for the Winograd operands only where that file is loaded', () => {
  const limits = { memoryBytes: 2 ** 30, maxBufferBytes: 2 ** 31 };
  const older = withoutWasmFile(source).manifest;
  assert.ok(chooseBatchSizes(manifest, limits, 'wasm').vqgan < chooseBatchSizes(manifest, limits, 'native').vqgan);
  assert.deepEqual(chooseBatchSizes(older, limits, 'wasm'), chooseBatchSizes(older, limits, 'native'));
});

void test('WASM loads the Winograd VQGAN, a folder without it loads Conv, and both draw the same images', async () => {
  const reads: string[] = [];
  const watched: ModelSource = {
    manifest,
    readFile: (path) => {
      reads.push(path);
      return source.readFile(path);
    },
  };
  const winograd = await loadDalle(ort, watched, wasm);
  const direct = await createSession(ort, withoutWasmFile(source), 'vqgan', wasm('vqgan'));
  try {
    assert.ok(reads.includes('vqgan_winograd.onnx') && !reads.includes('vqgan.onnx'), reads.join(', '));
    assert.ok(direct.outputNames.length > 0);
    const grid = manifest.dalleBart.imageLength;
    const codes = Int32Array.from({ length: 2 * grid }, (_, i) => (i * 37 + (i >> 4)) % manifest.vqgan.nEmbed);
    const fast = await winograd.engine.decodeImages(codes, 2);
    const conv = await new DalleEngine(ort, { ...winograd.engine.sessions, vqgan: direct }, manifest).decodeImages(
      codes,
      2,
    );
    let [squared, lo, hi] = [0, Infinity, -Infinity];
    conv.forEach((r, i) => {
      squared += (fast[i]! - r) ** 2;
      lo = Math.min(lo, r);
      hi = Math.max(hi, r);
    });
    const db = 10 * Math.log10((hi - lo) ** 2 / (squared / conv.length));
    assert.ok(db >= 40, `${db.toFixed(1)} dB`);
  } finally {
    await Promise.all([winograd.dispose(), direct.release()]);
  }
});

void test('WASM dequantizes the VQGAN’s weights in every decode and draws what folded weights draw', async () => {
  assert.equal(foldsWeights(wasm('vqgan')), false, 'folded, ONNX Runtime would fold the filter transforms too');
  assert.equal(foldsWeights(wasm('encoder')), true);
  const unfolded = await createSession(ort, source, 'vqgan', wasm('vqgan'));
  const folded = await createSession(ort, source, 'vqgan', WASM_SESSION_OPTIONS);
  try {
    const sessions = (vqgan: Session) => ({ encoder: vqgan, decoder: vqgan, vqgan });
    const codes = Int32Array.from({ length: 2 * manifest.dalleBart.imageLength }, (_, i) => (i * 53) % 97);
    const want = await new DalleEngine(ort, sessions(folded), manifest).decodeImages(codes, 2);
    const got = await new DalleEngine(ort, sessions(unfolded), manifest).decodeImages(codes, 2);
    const squared = want.reduce((sum, v, i) => sum + (v - got[i]!) ** 2, 0);
    const db = 10 * Math.log10(255 ** 2 / Math.max(squared / want.length, 1e-12));
    assert.ok(db >= 40, `${db.toFixed(1)} dB`);
  } finally {
    await Promise.all([unfolded.release(), folded.release()]);
  }
});
