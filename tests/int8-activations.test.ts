/**
 * q8 exports carry a second host-cache decoder for the WASM backend (`wasmHostCacheFile`,
 * docs/model-format.md#int8-activations): it multiplies the layers' projections with MatMulIntegerToFloat over the
 * very same int8 weights as the other decoder graphs (no second copy of them), WASM loads it and nothing else does,
 * and it stays within a measured distance of fp32 on WASM, where the app runs it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { graphFile } from '../src/pipeline/runtime.ts';
import { sessionOptionsFor, WASM_SESSION_OPTIONS } from '../src/pipeline/session-options.ts';
import { formatQuantizationReport, measureQuantizationError } from '../tools/exporter/quantization-report.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { oneErrorLine, runTool } from './helpers/cli.ts';
import { demoModel, demoModelWithoutInt8Activations } from './helpers/fixtures.ts';

const PROMPT = 'a yellow circle on a blue background';
const int8Dir = demoModel('q8');
const floatDir = demoModelWithoutInt8Activations();

function graphText(dir: string, file: string): string {
  return readFileSync(join(dir, file)).toString('latin1');
}

void test('a q8 export adds an int8-activation decoder for WASM over the same weights; the option leaves it out', () => {
  const int8 = openModelFolder(int8Dir).manifest;
  const float = openModelFolder(floatDir).manifest;
  const { decoder } = int8.graphs;
  assert.equal(decoder.wasmHostCacheFile, 'decoder_host_cache_int8.onnx');
  assert.equal(decoder.hostCacheFile, 'decoder_host_cache.onnx');
  assert.equal(float.graphs.decoder.wasmHostCacheFile, undefined);
  assert.deepEqual(decoder.externalData, float.graphs.decoder.externalData);
  // Same weight bytes with and without it: the variant reads them, it does not add its own.
  const hashes = (m: typeof int8) =>
    m.graphs.decoder.externalData.map((path) => m.files.find((f) => f.path === path)!.sha256);
  assert.deepEqual(hashes(int8), hashes(float));
  assert.ok(graphText(int8Dir, decoder.wasmHostCacheFile).includes('MatMulIntegerToFloat'));
  assert.ok(!graphText(int8Dir, decoder.hostCacheFile).includes('MatMulIntegerToFloat'), 'native runs float');
  assert.ok(!graphText(int8Dir, decoder.file).includes('MatMulIntegerToFloat'), 'WebGPU keeps its graph');
});

void test('only host-cache runs on the WASM backend load the int8-activation decoder', () => {
  const { manifest } = openModelFolder(int8Dir);
  const { decoder } = manifest.graphs;
  assert.equal(graphFile(decoder, WASM_SESSION_OPTIONS, true), decoder.wasmHostCacheFile);
  assert.equal(graphFile(decoder, {}, true), decoder.hostCacheFile, 'onnxruntime-node (bench native rows)');
  assert.equal(graphFile(decoder, WASM_SESSION_OPTIONS, false), decoder.file, 'a fed-back cache needs present.*');
  assert.equal(graphFile(decoder, sessionOptionsFor('webgpu', manifest)('decoder'), false), decoder.file);
});

/**
 * Measured on the committed demo model for this prompt, on WASM: 245/256 greedy tokens agree with fp32 (the float
 * host-cache decoder: 253/256), max |Δlogit| 0.10 of 13.4 over the first steps, mean total variation between the
 * sampling distributions 2.8 % (float: 1.1 %). The bounds guard against a broken graph; the export report prints
 * every model's.
 */
const MIN_AGREEMENT = 0.9;
const MAX_SAMPLING_DISTANCE = 0.05;
void test('the int8-activation decoder stays close to fp32 on the demo model', async () => {
  const result = await measureQuantizationError(demoModel('fp32'), int8Dir, PROMPT, 'host-cache');
  console.log(formatQuantizationReport(result));
  assert.ok(result.agreement >= MIN_AGREEMENT * result.steps, `agreement ${result.agreement}/${result.steps}`);
  assert.ok(result.maxLogitError < 0.02 * result.logitScale, `max |Δlogit| ${result.maxLogitError}`);
  assert.ok(result.samplingDistance < MAX_SAMPLING_DISTANCE, `total variation ${result.samplingDistance}`);
});

void test('export refuses --int8-activations for any dtype but q8, and with its opposite, before writing', async () => {
  const fp32 = await runTool('export', ['--random', 'tiny', '--out', '/nonexistent/x', '--int8-activations']);
  assert.match(oneErrorLine(fp32), /--int8-activations needs --dtype q8/);
  const both = ['--dtype', 'q8', '--int8-activations', '--no-int8-activations'];
  const contradiction = await runTool('export', ['--random', 'tiny', '--out', '/nonexistent/x', ...both]);
  assert.match(oneErrorLine(contradiction), /contradict each other/);
});
