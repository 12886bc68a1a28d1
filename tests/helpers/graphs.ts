/** Builds one graph from in-memory params into a temp folder and opens it with onnxruntime-web (WASM, Node). */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import type { VqganConfig } from '../../src/model/config.ts';
import { GraphBuilder } from '../../tools/exporter/onnx/graph-builder.ts';
import { ExternalDataWriter } from '../../tools/exporter/onnx/weight-file.ts';

ort.env.wasm.numThreads = 1;
export { ort };

export async function buildSession(name: string, build: (b: GraphBuilder) => void): Promise<ort.InferenceSession> {
  const dir = mkdtempSync(join(tmpdir(), 'graph-'));
  try {
    const data = new ExternalDataWriter(dir, `${name}.onnx_data`);
    const builder = new GraphBuilder(name, data);
    build(builder);
    data.close();
    writeFileSync(join(dir, `${name}.onnx`), builder.serialize());
    const externalData = data.files.map((path) => ({ path, data: readFileSync(join(dir, path)) }));
    return await ort.InferenceSession.create(readFileSync(join(dir, `${name}.onnx`)), { externalData });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function int64(values: readonly number[], dims: readonly number[]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(values.map((v) => BigInt(v))), dims);
}

/** max |a − b| relative to max |b| (the output's scale). */
export function relativeError(actual: Float32Array, expected: Float32Array): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} ≠ ${expected.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return diff / (scale || 1);
}

/**
 * A VQGAN small enough for graph tests: two levels (maps of 8 and 16) with attention at 8 and a
 * channel change, so every block kind appears; `ch` and `numResBlocks` vary per test.
 */
export function smallVqganConfig(ch: number, numResBlocks: number): VqganConfig {
  return {
    ch,
    chMult: [1, 2],
    numResBlocks,
    attnResolutions: [8],
    resolution: 16,
    zChannels: 16,
    embedDim: 8,
    nEmbed: 64,
    outCh: 3,
  };
}
