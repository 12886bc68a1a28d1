/**
 * A q8 decoder whose weights are dequantized once (docs/model-format.md#weights-dequantized-once): the model
 * folder's `dequantizeFile` turns the int8 weights into float32 in one run, whose outputs stay where the runtime put
 * them (on WebGPU, in GPU buffers), and `weightInputsFile`, the decoder taking those as inputs, gets them with every
 * run. ONNX Runtime folding the same dequantizations at load (`session.disable_quant_qdq`) computes them in its WASM
 * heap instead, which keeps the float32 copies' memory in the page for good.
 */
import type { GraphEntry } from '../model/manifest.ts';
import type { Feeds } from './decoder-run.ts';
import type { OrtApi, Session, SessionOptions } from './runtime.ts';

/** The entry's weight-inputs decoder and its dequantization graph, when the folder has both. */
export function weightInputFiles(entry: GraphEntry): { decoder: string; dequantize: string } | undefined {
  const { weightInputsFile, dequantizeFile } = entry;
  return weightInputsFile !== undefined && dequantizeFile !== undefined
    ? { decoder: weightInputsFile, dequantize: dequantizeFile }
    : undefined;
}

/** Options for the one run of the dequantization graph: the decoder's backend, outputs left on the GPU there. */
function dequantizeOptions(decoder: SessionOptions): SessionOptions {
  const providers = decoder.executionProviders ?? [];
  const onGpu = providers.some((ep) => (typeof ep === 'string' ? ep : ep.name) === 'webgpu');
  return {
    executionProviders: providers,
    ...(decoder.logSeverityLevel === undefined ? {} : { logSeverityLevel: decoder.logSeverityLevel }),
    // No `session.disable_quant_qdq`: folded at load, the graph's outputs would be computed in the page.
    ...(onGpu ? { preferredOutputLocation: 'gpu-buffer' as const } : {}),
  };
}

/** Runs the dequantization graph once; its outputs are the weight inputs, named as the decoder's inputs are. */
export async function dequantizeWeights(
  ort: OrtApi,
  model: Uint8Array,
  externalData: NonNullable<SessionOptions['externalData']>,
  decoderOptions: SessionOptions,
): Promise<Feeds> {
  const session = await ort.InferenceSession.create(model, { ...dequantizeOptions(decoderOptions), externalData });
  let weights: Feeds | undefined;
  try {
    weights = await session.run({});
    await session.release();
    return weights;
  } catch (error) {
    for (const tensor of Object.values(weights ?? {})) tensor.dispose();
    if (!weights) await session.release().catch(() => undefined);
    throw error;
  }
}

/** `session` with `weights` added to every run's feeds; its `inputNames` leave them out, its `release` frees them. */
export function withWeightInputs(session: Session, weights: Readonly<Feeds>): Session {
  const isWeight = (name: string) => Object.hasOwn(weights, name);
  const wrapped = Object.create(session) as Session;
  Object.defineProperties(wrapped, {
    inputNames: { value: session.inputNames.filter((name) => !isWeight(name)) },
    inputMetadata: { value: session.inputMetadata.filter((input) => !isWeight(input.name)) },
  });
  // run(feeds, options) or run(feeds, fetches, options): whatever follows the feeds passes through.
  const run = session.run.bind(session) as (feeds: Feeds, ...rest: unknown[]) => ReturnType<Session['run']>;
  wrapped.run = (feeds: Feeds, ...rest: unknown[]) => run({ ...feeds, ...weights }, ...rest);
  wrapped.release = async () => {
    try {
      await session.release();
    } finally {
      for (const tensor of Object.values(weights)) tensor.dispose();
    }
  };
  return wrapped;
}
