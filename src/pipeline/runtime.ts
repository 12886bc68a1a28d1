/**
 * The slice of the ONNX Runtime API the pipeline uses. onnxruntime-web (browser worker, Node CLI)
 * and onnxruntime-node (benchmarks, reports) both satisfy it, so one pipeline serves them all.
 */
import type * as Ort from 'onnxruntime-web';
import { GRAPH_NAMES } from '../model/graph-io.ts';
import type { GraphName } from '../model/graph-io.ts';
import type { GraphEntry } from '../model/manifest.ts';
import type { ModelSource } from '../model/model-source.ts';
import { dequantizeWeights, weightInputFiles, withWeightInputs } from './weight-inputs.ts';
import type { Int8GemmOptions } from '../kernels/int8-gemm.ts';
import { createOwnDecoderSession } from './own-decoder-session.ts';
import { createOwnEncoderSession } from './own-encoder-session.ts';
import { createOwnVqganSession } from './own-vqgan-session.ts';
import { UnsupportedGraphError } from '../kernels/bart-weights.ts';
import { OnnxFormatError } from '../model/onnx-initializers.ts';

export type OrtApi = Pick<typeof Ort, 'InferenceSession' | 'Tensor'>;
export type Session = Ort.InferenceSession;
export type Tensor = Ort.Tensor;
/**
 * ONNX Runtime's session options, and the pipeline's own choices (ONNX Runtime never sees them): `dequantizeOnce`, a q8
 * decoder's weights dequantized once by the folder's `dequantizeFile` and fed to its `weightInputsFile`
 * (weight-inputs.ts), and `ownKernels`.
 */
export type SessionOptions = Ort.InferenceSession.SessionOptions & {
  readonly dequantizeOnce?: boolean;
  /**
   * A q8 encoder or host-cache decoder, or a VQGAN of any dtype, runs on our own WebAssembly kernels
   * (own-encoder-session.ts, own-decoder-session.ts, own-vqgan-session.ts) instead of ONNX Runtime, reading the
   * weights of the graph's file, with these threads; a folder they cannot run falls back to ONNX Runtime.
   */
  readonly ownKernels?: Int8GemmOptions | false;
};

export type DalleSessions = Readonly<Record<GraphName, Session>>;

/** Whether sessions with these options run on onnxruntime-web's WASM backend (and nothing else). */
export function runsOnWasm(options: SessionOptions): boolean {
  const providers = options.executionProviders ?? [];
  return providers.length > 0 && providers.every((p) => (typeof p === 'string' ? p : p.name) === 'wasm');
}

/**
 * The file a session loads from a graph's entry: for host-cache runs the decoder's `weightInputsFile` where its
 * weights are dequantized once (SessionOptions.dequantizeOnce), its `captureFile` in a captured session, its
 * `wasmHostCacheFile` (int8 activations) on the WASM backend, its `hostCacheFile` elsewhere; the VQGAN's `wasmFile`
 * (Winograd convolutions) on the WASM backend, where it is faster; `file` otherwise and for folders without them
 * (docs/model-format.md#manifest).
 */
export function graphFile(entry: GraphEntry, options: SessionOptions, hostCache: boolean): string {
  const wasm = runsOnWasm(options);
  const weightInputs = weightInputFiles(entry);
  if (hostCache && options.dequantizeOnce === true && weightInputs) return weightInputs.decoder;
  if (hostCache && options.enableGraphCapture === true && entry.captureFile !== undefined) return entry.captureFile;
  if (hostCache && wasm && entry.wasmHostCacheFile !== undefined) return entry.wasmHostCacheFile;
  if (hostCache && entry.hostCacheFile !== undefined) return entry.hostCacheFile;
  if (entry.wasmFile !== undefined && wasm) return entry.wasmFile;
  return entry.file;
}

/** The graph file each session createSession made was loaded from (it may fall back from the one asked for). */
const loadedFiles = new WeakMap<Session, string>();

/** What loadedFile says of an encoder or decoder on our own kernels: the file whose weights they read. */
export const ownKernelsFile = (entry: GraphEntry): string => `${entry.file} (own kernels)`;

export function loadedFile(session: Session): string {
  const file = loadedFiles.get(session);
  if (file === undefined) throw new Error('this session was not made by createSession');
  return file;
}

/**
 * @param hostCache for the decoder: load its graph without `present.*` (`hostCacheFile`) when the
 *   model has one. Only for runs that keep the KV cache in host buffers (docs/model-format.md#kv-cache).
 *   The VQGAN's file follows the execution provider (graphFile).
 */
export async function createSession(
  ort: OrtApi,
  source: ModelSource,
  graph: GraphName,
  options: SessionOptions = {},
  hostCache = false,
): Promise<Session> {
  const entry = source.manifest.graphs[graph];
  const { dequantizeOnce, ownKernels, ...ortOptions } = options;
  const ownGraph =
    graph === 'encoder'
      ? createOwnEncoderSession
      : graph === 'vqgan'
        ? createOwnVqganSession
        : graph === 'decoder' && hostCache
          ? createOwnDecoderSession
          : null;
  if (ownKernels && ownGraph) {
    const own = await ownGraph(ort, source, entry, ownKernels).catch((error: unknown) => {
      // Only a graph they cannot run falls back; a failed read or a helper thread that would not start is an error.
      if (!(error instanceof UnsupportedGraphError || error instanceof OnnxFormatError)) throw error;
      console.warn(`our own kernels cannot run this ${graph}: ONNX Runtime runs it`, error);
      return undefined;
    });
    if (own) {
      loadedFiles.set(own, ownKernelsFile(entry));
      return own;
    }
  }
  let file = graphFile(entry, options, hostCache);
  const externalData = await Promise.all(
    entry.externalData.map(async (path) => ({ path, data: await source.readFile(path) })),
  );
  const weightInputs = weightInputFiles(entry);
  let weights: Readonly<Record<string, Tensor>> | undefined;
  if (dequantizeOnce === true && file === weightInputs?.decoder) {
    const dequantize = await source.readFile(weightInputs.dequantize);
    weights = await dequantizeWeights(ort, dequantize, externalData, ortOptions).catch((error: unknown) => {
      // Captured, the fallback below would keep every step's float32 copies: loadDalle retries it uncaptured.
      if (ortOptions.enableGraphCapture === true) throw error;
      // E.g. too little GPU memory for the float32 weights: the decoder still runs, dequantizing them every step.
      console.warn('dequantizing the decoder’s weights at load failed: they are dequantized at every step', error);
      return undefined;
    });
    if (!weights) file = graphFile(entry, ortOptions, hostCache);
  }
  try {
    const created = await ort.InferenceSession.create(await source.readFile(file), { ...ortOptions, externalData });
    const session = weights ? withWeightInputs(created, weights) : created;
    loadedFiles.set(session, file);
    return session;
  } catch (error) {
    for (const tensor of Object.values(weights ?? {})) tensor.dispose();
    throw error;
  }
}

/**
 * Sessions are created one after another: WebGPU cannot start two at once.
 * @param retry for a graph whose session could not be created: other options to try once, or undefined to fail.
 */
export async function createDalleSessions(
  ort: OrtApi,
  source: ModelSource,
  options: (graph: GraphName) => SessionOptions = () => ({}),
  hostCache = false,
  retry: (graph: GraphName, error: unknown) => SessionOptions | undefined = () => undefined,
): Promise<DalleSessions> {
  const created: Partial<Record<GraphName, Session>> = {};
  try {
    for (const graph of GRAPH_NAMES) {
      const host = hostCache && graph === 'decoder';
      created[graph] = await createSession(ort, source, graph, options(graph), host).catch((error: unknown) => {
        const other = retry(graph, error);
        if (!other) throw error;
        return createSession(ort, source, graph, other, host);
      });
    }
  } catch (error) {
    // A retry creates them again: release what this attempt holds so GPU memory does not pile up.
    await Promise.all(Object.values(created).map((session) => session.release()));
    throw error;
  }
  // The loop above set every graph.
  return created as DalleSessions;
}
