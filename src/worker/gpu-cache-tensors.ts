/**
 * The decoder's KV cache as WebGPU buffers of ONNX Runtime's own device (EngineOptions.cacheTensors): a run makes
 * them once (one set written a slot per step, or two the decoder writes `present.*` into in turn), and nothing is
 * uploaded (new buffers are zeros). A captured decoder's tensors are made the same way (gpu-decoder-capture.ts).
 */
import * as ort from 'onnxruntime-web';
import type { CacheTensorFactory } from '../pipeline/decoder-run.ts';
import type { Tensor } from '../pipeline/runtime.ts';
import { GpuMemoryError } from './errors.ts';

/** The slice of a GPUDevice this needs (tests pass a fake one). */
export interface BufferDevice {
  createBuffer(descriptor: { size: number; usage: number }): GpuBufferLike;
  pushErrorScope(filter: 'out-of-memory' | 'validation'): void;
  popErrorScope(): Promise<{ message: string } | null>;
}
export interface GpuBufferLike {
  destroy(): void;
}

/** GPUBufferUsage.STORAGE | COPY_SRC | COPY_DST: read and written by shaders, copied out when downloaded. */
const CACHE_USAGE = 0x80 | 0x04 | 0x08;

export type DeviceTensorType = 'float32' | 'float16' | 'int64';

export const BYTES_PER_ELEMENT: Readonly<Record<DeviceTensorType, number>> = { float32: 4, float16: 2, int64: 8 };

/** Cache tensors in new buffers of `device` (exported for tests: the app passes ONNX Runtime's device). */
export function cacheTensorsOn(device: BufferDevice): CacheTensorFactory {
  return deviceTensorsOn(device);
}

/** Zero-filled tensors in new buffers of `device`, each freed by its `dispose`. */
export function deviceTensorsOn(
  device: BufferDevice,
): (type: DeviceTensorType, dims: readonly number[]) => Promise<Tensor> {
  return async (type, dims) => {
    const bytes = dims.reduce((a, b) => a * b, 1) * BYTES_PER_ELEMENT[type];
    // WebGPU sizes buffers in multiples of 4 bytes; a new buffer is zero-filled. createBuffer does not throw when
    // the GPU is out of memory (or the size over its limit): the error scopes say so.
    device.pushErrorScope('validation');
    device.pushErrorScope('out-of-memory');
    const buffer = device.createBuffer({ size: Math.ceil(bytes / 4) * 4, usage: CACHE_USAGE });
    const outOfMemory = await device.popErrorScope();
    const invalid = await device.popErrorScope();
    const failed = outOfMemory ?? invalid;
    if (failed) {
      buffer.destroy();
      throw new GpuMemoryError(Math.ceil(bytes / 2 ** 20), failed.message);
    }
    return ort.Tensor.fromGpuBuffer(buffer as unknown as Parameters<typeof ort.Tensor.fromGpuBuffer>[0], {
      dataType: type,
      dims,
      dispose: () => buffer.destroy(),
    });
  };
}
