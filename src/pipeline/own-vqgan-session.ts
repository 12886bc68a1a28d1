/**
 * Our VQGAN decoder (src/kernels/vqgan-decoder.ts) behind ONNX Runtime's session interface: `codes` int64
 * [n, grid²] in, `pixels` float32 [n, outCh, R, R] out, in place of the ONNX Runtime session on WASM
 * (SessionOptions.ownKernels), for every dtype the exporter writes: the weights of the graph's file come out float32
 * (docs/performance.md#the-vqgan-on-our-kernels).
 */
import { vqganGridSize } from '../model/config.ts';
import type { VqganConfig } from '../model/config.ts';
import type { GraphEntry } from '../model/manifest.ts';
import type { ModelSource } from '../model/model-source.ts';
import { BATCH_AXIS, VQGAN_INPUTS, VQGAN_OUTPUTS } from '../model/graph-io.ts';
import { relaxedSimdCompiles } from '../kernels/gemm-kernel-choice.ts';
import type { Int8GemmOptions } from '../kernels/int8-gemm.ts';
import { OwnVqgan } from '../kernels/vqgan-decoder.ts';
import { vqganTensorsFromOnnx } from '../kernels/vqgan-tensors.ts';
import { helpersDidNotStart, ownSession, readGraphWeights, tensorInfo, threadOptions } from './own-session.ts';
import type { OrtApi, Session, Tensor } from './runtime.ts';

/**
 * Builds our VQGAN from the graph file's weights, on `options.threads` (one where its helpers cannot start: then, as
 * for the other graphs, later graphs of the same spawner ask for one thread). Its GEMM
 * multiplies with relaxed SIMD's fused multiply-add where that compiles, unless `options.kernel` asks for `dot16` (the
 * portable kernels everywhere).
 */
export async function createOwnVqganSession(
  ort: OrtApi,
  source: ModelSource,
  entry: GraphEntry,
  options: Int8GemmOptions = {},
): Promise<Session> {
  const config = source.manifest.vqgan;
  const tensors = vqganTensorsFromOnnx(await readGraphWeights(source, entry));
  const product = options.kernel !== 'dot16' && relaxedSimdCompiles() ? 'relaxed-madd' : 'mul-add';
  const { threads, spawnHelper } = threadOptions(options);
  const vqgan = await OwnVqgan.create(config, tensors, {
    product,
    ...(threads ? { threads } : {}),
    ...(spawnHelper ? { spawnHelper } : {}),
    // Built already: it runs on this thread rather than being built again.
    onThreadsFailed: (error) => helpersDidNotStart(options, error),
  });
  return ownVqganSession(ort, vqgan, config);
}

export function ownVqganSession(ort: OrtApi, vqgan: OwnVqgan, config: VqganConfig): Session {
  const grid = vqganGridSize(config);
  const R = config.resolution;
  const compute = (feeds: Readonly<Record<string, Tensor>>): Record<string, Tensor> => {
    const codes = feeds[VQGAN_INPUTS.codes];
    if (!codes) throw new Error(`input ${VQGAN_INPUTS.codes} is missing`);
    if (codes.type !== 'int64' || codes.dims.length !== 2 || codes.dims[1] !== grid * grid)
      throw new Error(`input ${VQGAN_INPUTS.codes} must be int64 [images, ${grid * grid}]`);
    const images = codes.dims[0]!;
    const pixels = vqgan.decode(codes.data as BigInt64Array, images);
    return { [VQGAN_OUTPUTS.pixels]: new ort.Tensor('float32', pixels, [images, config.outCh, R, R]) };
  };
  return ownSession({
    what: 'the VQGAN',
    inputMetadata: [tensorInfo(VQGAN_INPUTS.codes, 'int64', [BATCH_AXIS, grid * grid])],
    outputMetadata: [tensorInfo(VQGAN_OUTPUTS.pixels, 'float32', [BATCH_AXIS, config.outCh, R, R])],
    compute,
    release: () => vqgan.release(),
  });
}
