/**
 * The decoder's KV cache as WebGPU buffers of ONNX Runtime's own device (EngineOptions.cacheTensors): a run makes
 * two sets once, the decoder writes `present.*` into them in turn, and nothing is uploaded (new buffers are zeros).
 */
import * as ort from 'onnxruntime-web';
import type { CacheTensorFactory } from '../pipeline/decoder-run.ts';

/** The slice of a GPUDevice this needs (the project does not depend on WebGPU's type package). */
interface BufferDevice {
  createBuffer(descriptor: { size: number; usage: number }): GpuBufferLike;
}
interface GpuBufferLike {
  destroy(): void;
}

/** GPUBufferUsage.STORAGE | COPY_SRC | COPY_DST: read and written by shaders, copied out when downloaded. */
const CACHE_USAGE = 0x80 | 0x04 | 0x08;

export const gpuCacheTensors: CacheTensorFactory = async (type, dims) => {
  const device = (await ort.env.webgpu.device) as BufferDevice;
  const bytes = dims.reduce((a, b) => a * b, 1) * (type === 'float16' ? 2 : 4);
  // WebGPU sizes buffers in multiples of 4 bytes; a new buffer is zero-filled.
  const buffer = device.createBuffer({ size: Math.ceil(bytes / 4) * 4, usage: CACHE_USAGE });
  return ort.Tensor.fromGpuBuffer(buffer as unknown as Parameters<typeof ort.Tensor.fromGpuBuffer>[0], {
    dataType: type,
    dims,
    dispose: () => buffer.destroy(),
  });
};
