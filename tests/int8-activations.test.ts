/**
 * q8 with int8 activations (export --int8-activations, docs/model-format.md#int8-activations): the host-cache
 * decoder multiplies the layers' projections with MatMulIntegerToFloat over the very same int8 weights as the full
 * decoder (no second copy of them), and stays within a measured distance of fp32 on WASM, where the app runs it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatQuantizationReport, measureQuantizationError } from '../tools/exporter/quantization-report.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { oneErrorLine, runTool } from './helpers/cli.ts';
import { demoModel, demoModelInt8Activations } from './helpers/fixtures.ts';

const PROMPT = 'a yellow circle on a blue background';
const int8Dir = demoModelInt8Activations();
const plainDir = demoModel('q8');

function graphText(dir: string, file: string): string {
  return readFileSync(join(dir, file)).toString('latin1');
}

void test('the int8-activation decoder shares the q8 weights and changes only the host-cache graph', () => {
  const int8 = openModelFolder(int8Dir).manifest;
  const plain = openModelFolder(plainDir).manifest;
  const { decoder } = int8.graphs;
  assert.equal(decoder.hostCacheFile, 'decoder_host_cache.onnx');
  assert.deepEqual(decoder.externalData, plain.graphs.decoder.externalData);
  // Same weight bytes as the plain q8 export: the variant reads them, it does not add its own.
  const hashes = (m: typeof int8) =>
    m.graphs.decoder.externalData.map((path) => m.files.find((f) => f.path === path)!.sha256);
  assert.deepEqual(hashes(int8), hashes(plain));
  assert.ok(graphText(int8Dir, decoder.hostCacheFile).includes('MatMulIntegerToFloat'));
  assert.ok(!graphText(int8Dir, decoder.file).includes('MatMulIntegerToFloat'), 'WebGPU keeps its graph');
  assert.ok(!graphText(plainDir, decoder.hostCacheFile).includes('MatMulIntegerToFloat'), 'opt-in only');
});

/**
 * Measured on the committed demo model for this prompt, on WASM: 245/256 greedy tokens agree with fp32 (q8 without
 * int8 activations: 253/256), max |Δlogit| 0.10 of 13.4 over the first steps. The floors guard against a broken
 * graph; the export report prints the accuracy of every model.
 */
const MIN_AGREEMENT = 0.9;
void test('the int8-activation decoder stays close to fp32 on the demo model', async () => {
  const result = await measureQuantizationError(demoModel('fp32'), int8Dir, PROMPT, 'host-cache');
  console.log(formatQuantizationReport(result));
  assert.ok(result.agreement >= MIN_AGREEMENT * result.steps, `agreement ${result.agreement}/${result.steps}`);
  assert.ok(result.maxLogitError < 0.02 * result.logitScale, `max |Δlogit| ${result.maxLogitError}`);
});

void test('export --int8-activations is refused for any dtype but q8, before anything is written', async () => {
  const result = await runTool('export', ['--random', 'tiny', '--out', '/nonexistent/x', '--int8-activations']);
  assert.match(oneErrorLine(result), /--int8-activations needs --dtype q8/);
});
