/**
 * What the worker runs on ONNX Runtime's own WebGPU device (known once its first session exists): the decoder's
 * KV cache tensors and the sampling candidates (EngineOptions.cacheTensors and .candidates).
 */
import * as ort from 'onnxruntime-web';
import type { CacheTensorFactory } from '../pipeline/decoder-run.ts';
import type { EngineOptions } from '../pipeline/engine.ts';
import type { CandidateSelector } from '../pipeline/device-candidates.ts';
import { cacheTensorsOn } from './gpu-cache-tensors.ts';
import { candidateSelectorOn } from './gpu-candidates.ts';

const ortDevice = async (): Promise<GPUDevice> => await ort.env.webgpu.device;

export const gpuCacheTensors: CacheTensorFactory = async (type, dims) => cacheTensorsOn(await ortDevice())(type, dims);

/** A selector for one loaded model (its compute pipeline is made on first use). */
export function gpuCandidates(): CandidateSelector {
  let selector: CandidateSelector | undefined;
  return async (logits, layout) => {
    selector ??= candidateSelectorOn(await ortDevice());
    return selector(logits, layout);
  };
}

/** The engine options of a model loaded on WebGPU; `gpuSampling` false samples from the whole logits (benchmarks). */
export function webgpuEngineOptions(gpuSampling = true): EngineOptions {
  return {
    cacheOnDevice: true,
    cacheTensors: gpuCacheTensors,
    ...(gpuSampling ? { candidates: gpuCandidates() } : {}),
  };
}
