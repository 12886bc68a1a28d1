/**
 * Batch sizes for the Node CLIs and benchmarks: WASM's one 4 GiB heap holds weights and activations alike; leave half
 * of it to the weights.
 */
import { freemem } from 'node:os';
import { chooseBatchSizes } from '../../src/pipeline/batch-size.ts';
import type { BatchSizes } from '../../src/pipeline/batch-size.ts';
import type { ModelManifest } from '../../src/model/manifest.ts';

/** @param onWasm onnxruntime-web's WASM backend (chooseBatchSizes); false for onnxruntime-node. */
export function nodeBatchSizes(manifest: ModelManifest, onWasm: boolean): BatchSizes {
  const limits = { memoryBytes: Math.min(freemem() / 2, 2 ** 31), maxBufferBytes: 2 ** 31 };
  return chooseBatchSizes(manifest, limits, onWasm ? 'wasm' : 'native');
}
