/**
 * What the worker runs on ONNX Runtime's own WebGPU device (known once its first session exists): the decoder's
 * KV cache tensors, the slot writes into them, the sampling candidates and a captured decoder's tensors
 * (EngineOptions.cacheTensors, .cacheSlots, .candidates and .graphCapture).
 */
import * as ort from 'onnxruntime-web';
import type { CacheTensorFactory } from '../pipeline/decoder-run.ts';
import type { EngineOptions } from '../pipeline/engine.ts';
import { cacheTensorsOn } from './gpu-cache-tensors.ts';
import { candidateSelectorOn } from './gpu-candidates.ts';
import { cacheSlotWriterOn } from './gpu-cache-slots.ts';
import { decoderCaptureOn } from './gpu-decoder-capture.ts';
import type { DecoderCapture } from '../pipeline/decoder-capture.ts';

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

/** A captured decoder's tensors on ONNX Runtime's device: `tensor`, which makes them first, awaits the device. */
function gpuDecoderCapture(): DecoderCapture {
  let made: DecoderCapture | undefined;
  const ready = (): DecoderCapture => {
    if (!made) throw new Error("a captured decoder's tensor was used before it was made");
    return made;
  };
  return {
    tensor: async (type, dims) => {
      made ??= decoderCaptureOn(await ort.env.webgpu.device);
      return made.tensor(type, dims);
    },
    write: (target, values) => ready().write(target, values),
    clear: (target) => ready().clear(target),
    copy: (source, target, ranges) => ready().copy(source, target, ranges),
    borrow: (target) => ready().borrow(target),
  };
}

export interface WebgpuEngineChoices {
  /** Sample from the GPU's candidates (default); false reads the whole logits (benchmarks). */
  readonly gpuSampling?: boolean;
  /** Run the decoder as a captured graph where the model allows it (default); false dispatches every step. */
  readonly graphCapture?: boolean;
  /** The image count the decoder is captured for at load (EngineOptions.capturedImages). */
  readonly capturedImages?: number;
}

/**
 * The engine options of a model loaded on WebGPU: the KV cache in GPU buffers allocated once and written one slot
 * per step by a shader (the decoder graph without present.*), sampling from the shader's candidates, and the decoder
 * captured and replayed where the model's graph allows it.
 */
export function webgpuEngineOptions(choices: WebgpuEngineChoices = {}): EngineOptions {
  const { gpuSampling = true, graphCapture = true, capturedImages } = choices;
  return {
    cacheOnDevice: true,
    cacheTensors: gpuCacheTensors,
    hostCacheGraph: true,
    cacheSlots: onOrtDevice(cacheSlotWriterOn),
    ...(gpuSampling ? { candidates: onOrtDevice(candidateSelectorOn) } : {}),
    ...(graphCapture ? { graphCapture: gpuDecoderCapture() } : {}),
    ...(capturedImages === undefined ? {} : { capturedImages }),
  };
}
