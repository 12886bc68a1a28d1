/**
 * The WebGPU side of sampling on the GPU (src/pipeline/device-candidates.ts): one workgroup per image
 * super-conditions its cond and uncond logit rows where ONNX Runtime left them, finds the `keep`-th largest value
 * by a radix select over the values' bits (four 8-bit passes, a histogram in workgroup memory) and writes every
 * code that reaches it, with its two raw logits, to a block the CPU reads back: a few KB per step instead of the
 * whole logits.
 */
import { BLOCK_HEADER, CANDIDATE_WORDS, NON_FINITE, OUT_OF_RANGE, blockWords } from '../pipeline/device-candidates.ts';
import type { CandidateLayout, CandidateSelector } from '../pipeline/device-candidates.ts';

const WORKGROUP = 256;

/** The shader; `orderKey` and the block layout match device-candidates.ts. */
export const CANDIDATES_WGSL = /* wgsl */ `
struct Params { images: u32, vocab: u32, codes: u32, keep: u32, capacity: u32, stride: u32, scale: f32, limit: f32 }

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read_write> blocks: array<u32>;

var<workgroup> histogram: array<atomic<u32>, 256>;
var<workgroup> reached: atomic<u32>;
var<workgroup> flags: atomic<u32>;
var<workgroup> magnitude: atomic<u32>;
var<workgroup> bin: u32;
var<workgroup> wanted: u32;

fn combined(c: f32, u: f32) -> f32 { return u + params.scale * (c - u); }

// A float's bits as a u32 that orders like the float: negative values flipped whole, positive ones past them.
fn orderKey(v: f32) -> u32 {
  let bits = bitcast<u32>(v);
  return select(bits ^ 0x80000000u, ~bits, (bits & 0x80000000u) != 0u);
}

// By the bits: a compiler may assume arithmetic never meets NaN or Infinity.
fn finite(v: f32) -> bool { return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u; }

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let image = group.x;
  let cond = image * params.vocab;
  let uncond = (params.images + image) * params.vocab;
  let out = image * params.stride;
  if (lane == 0u) { wanted = params.keep; }

  var bad = 0u;
  var largest = 0.0;
  for (var j = lane; j < params.codes; j += ${WORKGROUP}u) {
    let c = logits[cond + j];
    let u = logits[uncond + j];
    if (!(finite(c) && finite(u) && finite(combined(c, u)))) { bad |= ${NON_FINITE}u; }
    if (max(abs(c), abs(u)) >= params.limit) { bad |= ${OUT_OF_RANGE}u; }
    largest = max(largest, abs(u) + params.scale * (abs(c) + abs(u)));
  }
  atomicOr(&flags, bad);
  atomicMax(&magnitude, bitcast<u32>(largest));

  // The keep-th largest key, 8 bits at a time from the top: after each pass, prefix holds the bits found so far.
  var prefix = 0u;
  var mask = 0u;
  for (var round = 0u; round < 4u; round++) {
    let shift = 24u - 8u * round;
    atomicStore(&histogram[lane], 0u);
    workgroupBarrier();
    for (var j = lane; j < params.codes; j += ${WORKGROUP}u) {
      let key = orderKey(combined(logits[cond + j], logits[uncond + j]));
      if ((key & mask) == prefix) { atomicAdd(&histogram[(key >> shift) & 255u], 1u); }
    }
    workgroupBarrier();
    if (lane == 0u) {
      var above = 0u;
      var b = 255u;
      loop {
        let here = atomicLoad(&histogram[b]);
        if (above + here >= wanted || b == 0u) { break; }
        above += here;
        b -= 1u;
      }
      bin = b;
      wanted -= above;
    }
    prefix |= workgroupUniformLoad(&bin) << shift;
    mask |= 255u << shift;
  }

  for (var j = lane; j < params.codes; j += ${WORKGROUP}u) {
    let c = logits[cond + j];
    let u = logits[uncond + j];
    if (orderKey(combined(c, u)) >= prefix) {
      let slot = atomicAdd(&reached, 1u);
      if (slot < params.capacity) {
        let at = out + ${BLOCK_HEADER}u + ${CANDIDATE_WORDS}u * slot;
        blocks[at] = j;
        blocks[at + 1u] = bitcast<u32>(c);
        blocks[at + 2u] = bitcast<u32>(u);
      }
    }
  }
  workgroupBarrier();
  if (lane == 0u) {
    blocks[out] = atomicLoad(&reached);
    blocks[out + 1u] = atomicLoad(&flags);
    blocks[out + 2u] = prefix;
    blocks[out + 3u] = atomicLoad(&magnitude);
  }
}
`;

/** Runs the shader on `logits` (a buffer of `device` holding [2n, vocab] float32) and reads the blocks back. */
export async function selectCandidates(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  logits: GPUBuffer,
  layout: CandidateLayout,
): Promise<Uint32Array> {
  const stride = blockWords(layout);
  const bytes = layout.images * stride * 4;
  const params = device.createBuffer({ size: 32, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
  const fields = params.getMappedRange();
  new Uint32Array(fields).set([layout.images, layout.vocab, layout.codeCount, layout.keep, layout.capacity, stride]);
  new Float32Array(fields).set([layout.conditionScale, layout.limit], 6);
  params.unmap();
  const blocks = device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const readback = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    const bindings = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: logits, size: 2 * layout.images * layout.vocab * 4 } },
        { binding: 1, resource: { buffer: params } },
        { binding: 2, resource: { buffer: blocks } },
      ],
    });
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindings);
    pass.dispatchWorkgroups(layout.images);
    pass.end();
    encoder.copyBufferToBuffer(blocks, 0, readback, 0, bytes);
    device.queue.submit([encoder.finish()]);
    await readback.mapAsync(GPUMapMode.READ);
    return new Uint32Array(readback.getMappedRange().slice(0));
  } finally {
    for (const buffer of [params, blocks, readback]) buffer.destroy();
  }
}

/** The compute pipeline of CANDIDATES_WGSL on `device`; rejects with the compiler's message if it is invalid. */
export function candidatesPipeline(device: GPUDevice): Promise<GPUComputePipeline> {
  return device.createComputePipelineAsync({
    layout: 'auto',
    compute: { module: device.createShaderModule({ code: CANDIDATES_WGSL }), entryPoint: 'main' },
  });
}

/**
 * A selector on `device` (the pipeline is built on first use). Where the shader does not build or a run fails (out
 * of memory, say), the step reads the whole logits instead: the codes are the same either way, only slower. A lost
 * device fails that read too, and the drawing reports it as before.
 */
export function candidateSelectorOn(device: GPUDevice): CandidateSelector {
  let pipeline: Promise<GPUComputePipeline> | undefined;
  let warned = false;
  return async (logits, layout) => {
    if (logits.location !== 'gpu-buffer') return null;
    try {
      pipeline ??= candidatesPipeline(device);
      return await selectCandidates(device, await pipeline, logits.gpuBuffer, layout);
    } catch (error) {
      if (!warned) console.warn(`GPU sampling candidates failed, sampling from the whole logits: ${String(error)}`);
      warned = true;
      return null;
    }
  };
}
