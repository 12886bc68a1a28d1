/**
 * Writes each decoder step's new key/value slot into the KV cache's GPU buffers (EngineOptions.cacheSlots): one small
 * dispatch per layer, so the decoder runs its graph without `present.*` and no step rewrites the whole cache.
 * Keys are [B, H, hd, S] (the slot is every S-th element), values [B, H, S, hd] (one run of hd per row and head).
 * float16 caches hold two elements per 32-bit word: a key element is written into its word alone (the keys written
 * in one step lie S ≥ 2 elements apart, so no two share a word), value elements a word (two channels, hd even) at a
 * time. The first write runs under an error scope, so a shader or binding this GPU rejects fails the drawing
 * instead of leaving the cache unwritten.
 */
import type { CacheSlotWrite, CacheSlotWriter } from '../pipeline/decoder-run.ts';

const WORKGROUP = 64;

export const CACHE_SLOT_WGSL = /* wgsl */ `
struct Params { elements: u32, slots: u32, position: u32, headDim: u32, half: u32 }

@group(0) @binding(0) var<storage, read> newKey: array<u32>;
@group(0) @binding(1) var<storage, read> newValue: array<u32>;
@group(0) @binding(2) var<storage, read_write> pastKey: array<u32>;
@group(0) @binding(3) var<storage, read_write> pastValue: array<u32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  if (i >= params.elements) { return; }
  // Element i of the new slot is (row·head, channel) = (i / hd, i % hd).
  let key = i * params.slots + params.position;
  let value = ((i / params.headDim) * params.slots + params.position) * params.headDim + i % params.headDim;
  if (params.half == 0u) {
    pastKey[key] = newKey[i];
    pastValue[value] = newValue[i];
    return;
  }
  let bits = (newKey[i / 2u] >> (16u * (i % 2u))) & 0xffffu;
  let shift = 16u * (key % 2u);
  pastKey[key / 2u] = (pastKey[key / 2u] & ~(0xffffu << shift)) | (bits << shift);
  if (i % 2u == 0u) { pastValue[value / 2u] = newValue[i / 2u]; }
}
`;

function gpuBuffer(tensor: CacheSlotWrite['newKey']): GPUBuffer {
  if (tensor.location !== 'gpu-buffer') throw new Error(`a KV cache tensor is in ${tensor.location}, not on the GPU`);
  return tensor.gpuBuffer;
}

/** Slot writes on `device` (ONNX Runtime's): queued before the next decoder run, which reads them in order. */
export function cacheSlotWriterOn(device: GPUDevice): CacheSlotWriter {
  let pipeline: Promise<GPUComputePipeline> | undefined;
  let checked = false;
  return async (writes, position) => {
    pipeline ??= device.createComputePipelineAsync({
      layout: 'auto',
      compute: { module: device.createShaderModule({ code: CACHE_SLOT_WGSL }), entryPoint: 'main' },
    });
    if (checked) return queueWrites(device, await pipeline, writes, position);
    device.pushErrorScope('validation');
    let error: GPUError | null;
    try {
      queueWrites(device, await pipeline, writes, position);
    } finally {
      error = await device.popErrorScope();
    }
    if (error) throw new Error(`the KV cache slot shader failed on this GPU: ${error.message}`);
    checked = true;
  };
}

function queueWrites(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  writes: readonly CacheSlotWrite[],
  position: number,
): void {
  const [rows, heads, headDim, slots] = writes[0]!.pastKey.dims as [number, number, number, number];
  const elements = rows * heads * headDim;
  const bytes = writes[0]!.pastKey.type === 'float16' ? 2 : 4;
  if (bytes === 2 && headDim % 2 !== 0) throw new Error(`a float16 KV cache needs an even head size, not ${headDim}`);
  const params = device.createBuffer({ size: 32, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
  new Uint32Array(params.getMappedRange()).set([elements, slots, position, headDim, bytes === 2 ? 1 : 0]);
  params.unmap();
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  for (const write of writes) {
    const entries = [write.newKey, write.newValue, write.pastKey, write.pastValue].map((tensor, binding) => ({
      binding,
      resource: { buffer: gpuBuffer(tensor), size: elements * bytes * (binding < 2 ? 1 : slots) },
    }));
    entries.push({ binding: 4, resource: { buffer: params, size: 32 } });
    pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }));
    pass.dispatchWorkgroups(Math.ceil(elements / WORKGROUP));
  }
  pass.end();
  device.queue.submit([encoder.finish()]);
  params.destroy();
}
