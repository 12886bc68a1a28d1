/**
 * A graph on our own kernels behind ONNX Runtime's session interface (own-decoder-session.ts, own-encoder-session.ts):
 * the same input and output names, shapes and run signature, so the engine drives it as it drives ONNX Runtime.
 */
import { Int8Gemm } from '../kernels/int8-gemm.ts';
import { KernelUnavailableError } from '../kernels/gemm-kernel-choice.ts';
import type { GemmKernelChoice } from '../kernels/gemm-kernel-choice.ts';
import type { Int8GemmOptions } from '../kernels/int8-gemm.ts';
import type { GraphEntry } from '../model/manifest.ts';
import type { ModelSource } from '../model/model-source.ts';
import { readInitializers } from '../model/onnx-initializers.ts';
import type { OnnxInitializer } from '../model/onnx-initializers.ts';
import type { KeyValue } from '../kernels/decoder-step.ts';
import type { DalleBartConfig } from '../model/config.ts';
import { crossAttentionNames, TEXT_AXIS } from '../model/graph-io.ts';
import type { OrtApi, Session, Tensor } from './runtime.ts';

type Metadata = Session['inputMetadata'][number];

export const tensorInfo = (name: string, type: 'float32' | 'int64', shape: (number | string)[]): Metadata => ({
  name,
  isTensor: true,
  type,
  shape,
});

function checkInput(tensor: Tensor | undefined, name: string, type: 'int64' | 'float32'): asserts tensor is Tensor {
  if (!tensor) throw new Error(`input ${name} is missing`);
  if (tensor.type !== type) throw new Error(`input ${name} is ${tensor.type}, not ${type}`);
}

/**
 * The cross-attention tensors the encoder writes and the decoder reads, each decoder layer's keys [batch, H, hd, T] and
 * values [batch, H, T, hd] (H the decoder's heads), as `[name, shape]`: `batch` and `textLength` are numbers for
 * tensors, axis names for metadata.
 */
function crossShapes<D extends number | string>(
  c: DalleBartConfig,
  batch: D,
  textLength: D,
): [string, (number | D)[]][] {
  const H = c.decoderHeads;
  const hd = c.dModel / H;
  return crossAttentionNames(c).flatMap(({ key, value }): [string, (number | D)[]][] => [
    [key, [batch, H, hd, textLength]],
    [value, [batch, H, textLength, hd]],
  ]);
}

export const crossMetadata = (c: DalleBartConfig, batch: number | string): Metadata[] =>
  crossShapes<number | string>(c, batch, TEXT_AXIS).map(([name, shape]) => tensorInfo(name, 'float32', shape));

/** The cross-attention tensors of `cross` (per decoder layer), for `batch` rows of `textLength` tokens. */
export function crossTensors(
  ort: OrtApi,
  c: DalleBartConfig,
  cross: readonly KeyValue[],
  batch: number,
  textLength: number,
): Record<string, Tensor> {
  const shapes = crossShapes(c, batch, textLength);
  return Object.fromEntries(
    shapes.map(([name, shape], i) => {
      const layer = cross[i >> 1]!;
      return [name, new ort.Tensor('float32', i % 2 === 0 ? layer.key : layer.value, shape)];
    }),
  );
}

/** Numbers of an int64 tensor (ids, positions, masks: all small). */
export function numbers(tensor: Tensor | undefined, name: string): number[] {
  checkInput(tensor, name, 'int64');
  return Array.from(tensor.data as BigInt64Array, Number);
}

export function floats(tensor: Tensor | undefined, name: string): Float32Array {
  checkInput(tensor, name, 'float32');
  if (!(tensor.data instanceof Float32Array)) throw new Error(`input ${name} is not in host memory`);
  return tensor.data;
}

export interface OwnSessionParts {
  /** What the session is, for messages ("the decoder"). */
  readonly what: string;
  readonly inputMetadata: readonly Metadata[];
  readonly outputMetadata: readonly Metadata[];
  /** Every output, or at least those in `fetched` where the caller named the outputs it reads. */
  readonly compute: (feeds: Readonly<Record<string, Tensor>>, fetched?: readonly string[]) => Record<string, Tensor>;
  readonly release: () => Promise<void>;
}

export function ownSession(parts: OwnSessionParts): Session {
  const { what, inputMetadata, outputMetadata, compute } = parts;
  const outputNames = outputMetadata.map((m) => m.name);
  // ONNX Runtime's run(feeds, options) and run(feeds, fetches, options): fetches are a name list or an object keyed by
  // output names (anything else is run options). compute may leave out outputs not fetched; preallocated output tensors
  // are not written into (refused).
  const runNow = (feeds: Readonly<Record<string, Tensor>>, fetches?: unknown): Record<string, Tensor> => {
    let names: readonly string[] | undefined;
    if (Array.isArray(fetches)) names = fetches as string[];
    else if (fetches && typeof fetches === 'object') {
      const wanted = Object.entries(fetches as Record<string, unknown>).filter(([name]) => outputNames.includes(name));
      if (wanted.some(([, tensor]) => tensor !== null))
        throw new Error(`${what} on our own kernels does not write into preallocated outputs`);
      if (wanted.length > 0) names = wanted.map(([name]) => name);
    }
    const all = compute(feeds, names);
    if (!names) return all;
    return Object.fromEntries(
      names.map((name) => {
        const tensor = all[name];
        if (!tensor) throw new Error(`${what} has no output ${name}`);
        return [name, tensor];
      }),
    );
  };
  // Errors reject, as ONNX Runtime's do.
  const run = (feeds: Readonly<Record<string, Tensor>>, fetches?: unknown): Promise<Record<string, Tensor>> =>
    new Promise((resolve) => resolve(runNow(feeds, fetches)));
  const session: Session = {
    inputNames: inputMetadata.map((m) => m.name),
    outputNames,
    inputMetadata: [...inputMetadata],
    outputMetadata: [...outputMetadata],
    run,
    release: parts.release,
    startProfiling: () => undefined,
    endProfiling: () => undefined,
  };
  return session;
}

/** The GEMM kernel each session on our kernels runs (int8-gemm.ts `kernel`): a benchmark reports it. */
const gemmKernels = new WeakMap<Session, GemmKernelChoice>();

export function ownGemmKernel(session: Session): GemmKernelChoice | undefined {
  return gemmKernels.get(session);
}

/** Records `gemm`'s kernel as `session`'s. */
export function runsOn(session: Session, gemm: Int8Gemm): Session {
  gemmKernels.set(session, gemm.kernel);
  return session;
}

/** Spawners whose helper threads did not start: later graphs run on one thread without trying again. */
const helpersFailed = new WeakSet<NonNullable<Int8GemmOptions['spawnHelper']>>();

/** `options`, or where this spawner's helpers did not start for an earlier graph, one thread (the same kernel). */
export function threadOptions(options: Int8GemmOptions): Int8GemmOptions {
  const spawner = options.spawnHelper;
  if (spawner === undefined || !helpersFailed.has(spawner)) return options;
  return options.kernel ? { kernel: options.kernel } : {};
}

/** Records that `options`' helper threads did not start: later graphs of this spawner ask for one thread. */
export function helpersDidNotStart(options: Int8GemmOptions, error: unknown): void {
  if (options.spawnHelper) helpersFailed.add(options.spawnHelper);
  console.warn(`our kernels' helper threads did not start (${String(error)}): running them on one thread`);
}

/**
 * `create(options)`, or where its helper threads cannot start (no nested workers, a blocked script), `create` on this
 * thread alone, and so for every later graph of the same spawner, which would otherwise wait for its helpers as long
 * again.
 */
export async function withOneThreadFallback<T>(
  options: Int8GemmOptions,
  create: (options: Int8GemmOptions) => Promise<T>,
): Promise<T> {
  const chosen = threadOptions(options);
  return create(chosen).catch((error: unknown) => {
    if ((chosen.threads ?? 1) === 1 || error instanceof KernelUnavailableError) throw error;
    helpersDidNotStart(options, error);
    return create(threadOptions(options));
  });
}

/** A graph's weights: the ONNX initializers of its file and external data. */
export async function readGraphWeights(
  source: ModelSource,
  entry: GraphEntry,
): Promise<ReadonlyMap<string, OnnxInitializer>> {
  const externalData = await Promise.all(
    entry.externalData.map(async (path) => ({ path, data: await source.readFile(path) })),
  );
  return readInitializers(await source.readFile(entry.file), externalData);
}

/**
 * Reads a graph's weights from its files (the ONNX initializers) and packs them into a new Int8Gemm with `pack`; throws
 * what `pack` throws for a folder that is not q8, with the Int8Gemm released.
 */
export async function packOwnGraph<T>(
  source: ModelSource,
  entry: GraphEntry,
  options: Int8GemmOptions,
  pack: (weights: ReadonlyMap<string, OnnxInitializer>, gemm: Int8Gemm) => T,
): Promise<{ packed: T; gemm: Int8Gemm }> {
  const weights = await readGraphWeights(source, entry);
  const gemm = await withOneThreadFallback(options, (chosen) => Int8Gemm.create(chosen));
  try {
    return { packed: pack(weights, gemm), gemm };
  } catch (error) {
    await gemm.release();
    throw error;
  }
}
