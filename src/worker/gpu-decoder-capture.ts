/**
 * A captured decoder's tensors on ONNX Runtime's WebGPU device (EngineOptions.graphCapture): new zero-filled buffers
 * made once per captured session, host values written by the queue, the encoder's cross keys/values copied in (and a
 * smaller batch's logits rows copied together) on the GPU, and the step's logits lent to the sampler as a view that
 * downloads but never frees them. The queue runs these in order with ONNX Runtime's own submissions, which it flushes
 * before `session.run` resolves.
 */
import * as ort from 'onnxruntime-web';
import type { CopyRange, DecoderCapture } from '../pipeline/decoder-capture.ts';
import type { Tensor } from '../pipeline/runtime.ts';
import { BYTES_PER_ELEMENT, deviceTensorsOn } from './gpu-cache-tensors.ts';
import type { DeviceTensorType } from './gpu-cache-tensors.ts';

function onGpu(tensor: Tensor): GPUBuffer {
  if (tensor.location !== 'gpu-buffer') throw new Error(`a captured decoder's tensor is in ${tensor.location}`);
  return tensor.gpuBuffer;
}

function elementBytes(tensor: Tensor): number {
  return BYTES_PER_ELEMENT[tensor.type as DeviceTensorType];
}

/** Bytes of `tensor`'s elements, rounded up to whole 32-bit words as WebGPU copies them. */
function byteLength(tensor: Tensor): number {
  return Math.ceil((tensor.size * elementBytes(tensor)) / 4) * 4;
}

/** Checks a copy before it is queued: a GPU would reject a bad one outside any error scope, and drop it silently. */
function copyRegions(source: Tensor, target: Tensor, ranges: readonly CopyRange[] | undefined) {
  if (source.type !== target.type) throw new Error(`cannot copy ${source.type} into ${target.type}`);
  if (!ranges) {
    if (source.size !== target.size) throw new Error(`cannot copy ${source.size} elements into ${target.size}`);
    return [{ from: 0, to: 0, bytes: byteLength(target) }];
  }
  const bytes = elementBytes(target);
  return ranges.map(({ from, to, count }) => {
    if (from + count > source.size || to + count > target.size || (from * bytes) % 4 || (to * bytes) % 4)
      throw new Error(`cannot copy elements ${from}…${from + count} to ${to}…${to + count}`);
    return { from: from * bytes, to: to * bytes, bytes: Math.ceil((count * bytes) / 4) * 4 };
  });
}

async function download(device: GPUDevice, tensor: Tensor): Promise<Float32Array | Uint16Array | BigInt64Array> {
  const bytes = byteLength(tensor);
  const readback = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(onGpu(tensor), 0, readback, 0, bytes);
    device.queue.submit([encoder.finish()]);
    await readback.mapAsync(GPUMapMode.READ);
    const data = readback.getMappedRange().slice(0, tensor.size * BYTES_PER_ELEMENT[tensor.type as DeviceTensorType]);
    if (tensor.type === 'int64') return new BigInt64Array(data);
    return tensor.type === 'float16' ? new Uint16Array(data) : new Float32Array(data);
  } finally {
    readback.destroy();
  }
}

export function decoderCaptureOn(device: GPUDevice): DecoderCapture {
  return {
    tensor: deviceTensorsOn(device),
    write: (target, values) =>
      device.queue.writeBuffer(onGpu(target), 0, values.buffer, values.byteOffset, values.byteLength),
    clear: (target) => {
      const encoder = device.createCommandEncoder();
      encoder.clearBuffer(onGpu(target), 0, byteLength(target));
      device.queue.submit([encoder.finish()]);
    },
    copy: (source, target, ranges) => {
      const encoder = device.createCommandEncoder();
      for (const { from, to, bytes } of copyRegions(source, target, ranges))
        encoder.copyBufferToBuffer(onGpu(source), from, onGpu(target), to, bytes);
      device.queue.submit([encoder.finish()]);
    },
    borrow: (target) =>
      ort.Tensor.fromGpuBuffer(onGpu(target), {
        dataType: target.type as DeviceTensorType,
        dims: target.dims,
        download: () => download(device, target),
      }),
  };
}
