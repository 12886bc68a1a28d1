/**
 * What a WebGPU measurement loads, the app's way, for Chromium's bench worker and for Dawn in Node (bench-child.ts):
 * the engine's WebGPU options (cache on the GPU, sampling from the shader's candidates, the decoder captured where
 * the model allows it), the session options, and the batch sizes (the decoder captured for a full grid's batch when it
 * fits, smaller batches padded onto it).
 */
import { chooseBatchSizes } from '../src/pipeline/batch-size.ts';
import type { BatchSizes, DeviceLimits } from '../src/pipeline/batch-size.ts';
import { capturesDecoder } from '../src/pipeline/engine.ts';
import type { EngineOptions } from '../src/pipeline/engine.ts';
import type { SessionOptions } from '../src/pipeline/runtime.ts';
import type { GraphName } from '../src/model/graph-io.ts';
import { foldsWeights, sessionOptionsFor } from '../src/pipeline/session-options.ts';
import type { BenchRun } from './bench-report.ts';
import type { ModelManifest } from '../src/model/manifest.ts';
import { webgpuEngineOptions } from '../src/worker/gpu-device.ts';
import { MAX_IMAGES } from '../src/worker/protocol.ts';

export interface WebgpuChoices {
  /** Sample from the shader's candidates (the app's way) or from the whole logits read back. */
  readonly gpuSampling: boolean;
  /** Run the decoder as a captured graph where the model allows it (the app's way) or step by step. */
  readonly graphCapture: boolean;
  /**
   * q8: dequantize the decoder's weights once at load where they fit (the app's way: by the folder's dequantization
   * graph, or folded by ONNX Runtime on devices with 8 GiB of memory) or at every step.
   */
  readonly foldWeights: boolean;
}

export interface WebgpuMeasurement {
  readonly engineOptions: EngineOptions;
  readonly sessionOptions: (graph: GraphName) => SessionOptions;
  readonly batch: BatchSizes;
}

export function webgpuMeasurement(
  manifest: ModelManifest,
  limits: DeviceLimits,
  choices: WebgpuChoices,
): WebgpuMeasurement {
  const fits = chooseBatchSizes(manifest, limits, 'webgpu');
  const capturedImages = Math.min(fits.decoder, MAX_IMAGES);
  const engineOptions = webgpuEngineOptions({
    gpuSampling: choices.gpuSampling,
    graphCapture: choices.graphCapture,
    capturedImages,
  });
  const sessionOptions = sessionOptionsFor('webgpu', manifest, { foldDecoder: choices.foldWeights });
  const captures = capturesDecoder(engineOptions, manifest, sessionOptions('decoder'));
  return { engineOptions, sessionOptions, batch: captures ? { ...fits, decoder: capturedImages } : fits };
}

/**
 * q8: whether the decoder's weights were dequantized once at load (`folded_weights`). As the app, an unfolded q8
 * decoder runs uncaptured (capturesDecoder); where dequantizing once failed at load, the decoder fell back to its
 * host-cache file, dequantizing every step.
 */
export function foldedWeights(
  manifest: ModelManifest,
  sessionOptions: (graph: GraphName) => SessionOptions,
  run: Pick<BenchRun, 'decoder_file'>,
): Pick<BenchRun, 'folded_weights'> {
  if (manifest.dtype !== 'q8') return {};
  const decoder = sessionOptions('decoder');
  const fellBack = decoder.dequantizeOnce === true && run.decoder_file !== manifest.graphs.decoder.weightInputsFile;
  return { folded_weights: foldsWeights(decoder) && !fellBack };
}
