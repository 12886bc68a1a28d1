/**
 * What the worker runs on ONNX Runtime's own WebGPU device (known once its first session exists): the decoder's
 * KV cache tensors and the sampling candidates (EngineOptions.cacheTensors and .candidates).
 */
import * as ort from 'onnxruntime-web';
import type { CacheSlotWriter, CacheTensorFactory } from '../pipeline/decoder-run.ts';
import type { EngineOptions } from '../pipeline/engine.ts';
import type { CandidateSelector } from '../pipeline/device-candidates.ts';
import { cacheTensorsOn } from './gpu-cache-tensors.ts';
import { candidateSelectorOn } from './gpu-candidates.ts';
import { cacheSlotWriterOn } from './gpu-cache-slots.ts';

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

/** Slot writes into the KV cache on ONNX Runtime's device (the pipeline is made on first use). */
export function gpuCacheSlots(): CacheSlotWriter {
  let writer: CacheSlotWriter | undefined;
  return async (writes, position) => {
    writer ??= cacheSlotWriterOn(await ortDevice());
    return writer(writes, position);
  };
}

/**
 * The engine options of a model loaded on WebGPU: the KV cache in GPU buffers allocated once and written one slot
 * per step by a shader (the decoder graph without present.*), sampling from the shader's candidates. `gpuSampling`
 * false samples from the whole logits (benchmarks).
 */
export function webgpuEngineOptions(gpuSampling = true): EngineOptions {
  return {
    cacheOnDevice: true,
    cacheTensors: gpuCacheTensors,
    hostCacheGraph: true,
    cacheSlots: gpuCacheSlots(),
    ...(gpuSampling ? { candidates: gpuCandidates() } : {}),
  };
}
