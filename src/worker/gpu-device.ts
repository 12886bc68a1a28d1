/**
 * What the worker runs on ONNX Runtime's own WebGPU device (known once its first session exists): the decoder's
 * KV cache tensors, the slot writes into them and the sampling candidates (EngineOptions.cacheTensors, .cacheSlots
 * and .candidates).
 */
import * as ort from 'onnxruntime-web';
import type { CacheTensorFactory } from '../pipeline/decoder-run.ts';
import type { EngineOptions } from '../pipeline/engine.ts';
import { cacheTensorsOn } from './gpu-cache-tensors.ts';
import { candidateSelectorOn } from './gpu-candidates.ts';
import { cacheSlotWriterOn } from './gpu-cache-slots.ts';

/** `make`'s function on ONNX Runtime's device, made on the first call (each keeps its compute pipeline). */
function onOrtDevice<A extends unknown[], R>(
  make: (device: GPUDevice) => (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  let made: ((...args: A) => Promise<R>) | undefined;
  return async (...args) => {
    made ??= make(await ort.env.webgpu.device);
    return made(...args);
  };
}

export const gpuCacheTensors: CacheTensorFactory = onOrtDevice(cacheTensorsOn);

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
    cacheSlots: onOrtDevice(cacheSlotWriterOn),
    ...(gpuSampling ? { candidates: onOrtDevice(candidateSelectorOn) } : {}),
  };
}
