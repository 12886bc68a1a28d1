/**
 * Our own decoder step (src/kernels/decoder-step.ts) behind ONNX Runtime's session interface, with the inputs and
 * outputs of the decoder's host-cache file (`past.*` in, logits and `new.*` out), in place of the ONNX Runtime session
 * on WASM for a q8 model (SessionOptions.ownKernels; docs/performance.md#our-own-int8-kernel). It keeps the
 * self-attention cache itself (`keepsOwnCache`): the engine's SessionCacheDecoder runs it without `past.*`; fed
 * `past.*` (tests, benchmarks), it reads the caller's cache instead.
 */
import type { DalleBartConfig } from '../model/config.ts';
import type { GraphEntry } from '../model/manifest.ts';
import type { ModelSource } from '../model/model-source.ts';
import { readInitializers } from '../model/onnx-initializers.ts';
import {
  BATCH_AXIS,
  cacheNames,
  crossAttentionNames,
  DECODER_INPUTS,
  DECODER_OUTPUTS,
  newSlotNames,
  TEXT_AXIS,
} from '../model/graph-io.ts';
import { DecoderStep } from '../kernels/decoder-step.ts';
import type { DecoderStepInputs } from '../kernels/decoder-step.ts';
import { Int8Gemm } from '../kernels/int8-gemm.ts';
import type { Int8GemmOptions } from '../kernels/int8-gemm.ts';
import { int64 } from './decoder-run.ts';
import type { OrtApi, Session, Tensor } from './runtime.ts';

type Metadata = Session['inputMetadata'][number];

const tensorInfo = (name: string, type: 'float32' | 'int64', shape: (number | string)[]): Metadata => ({
  name,
  isTensor: true,
  type,
  shape,
});

/** Sessions on our kernels: they keep the self-attention cache themselves when run without `past.*`. */
const keepingCache = new WeakSet<Session>();

/**
 * Whether `session` keeps the decoder's self-attention cache itself: the engine then feeds no `past.*` and writes no
 * host cache (our kernels already hold every slot they computed; copying each new slot into the engine's cache and
 * back out cost ≈ 18 ms per 9-image step, docs/performance.md#everything-on-the-kernels-threads).
 */
export function keepsOwnCache(session: Session): boolean {
  return keepingCache.has(session);
}

/** Numbers of an int64 tensor (ids, the position, the mask: all small). */
function numbers(tensor: Tensor | undefined, name: string): number[] {
  if (!tensor || tensor.type !== 'int64') throw new Error(`the decoder needs int64 input ${name}`);
  return Array.from(tensor.data as BigInt64Array, Number);
}

function floats(tensor: Tensor | undefined, name: string): Float32Array {
  if (!tensor || tensor.type !== 'float32' || !(tensor.data instanceof Float32Array))
    throw new Error(`the decoder needs float32 input ${name} in host memory`);
  return tensor.data;
}

/** Loads the q8 decoder's weights from its graph file into our kernels; throws for a folder that is not q8. */
export async function createOwnDecoderSession(
  ort: OrtApi,
  source: ModelSource,
  entry: GraphEntry,
  options: Int8GemmOptions = {},
): Promise<Session> {
  const externalData = await Promise.all(
    entry.externalData.map(async (path) => ({ path, data: await source.readFile(path) })),
  );
  const weights = readInitializers(await source.readFile(entry.file), externalData);
  const gemm = await Int8Gemm.create(options).catch((error: unknown) => {
    if ((options.threads ?? 1) === 1) throw error;
    // Helper threads that cannot start (no nested workers, a blocked script): our kernels on this thread alone.
    console.warn(`our kernels' helper threads did not start (${String(error)}): running them on one thread`);
    return Int8Gemm.create();
  });
  let step: DecoderStep;
  try {
    step = DecoderStep.fromInitializers(source.manifest.dalleBart, weights, gemm);
  } catch (error) {
    await gemm.release();
    throw error;
  }
  return ownDecoderSession(ort, step, source.manifest.dalleBart, () => gemm.release());
}

/** The host-cache decoder's feeds for `inputs`: what the engine passes either decoder, and the adapter reads back. */
export function decoderFeeds(ort: OrtApi, c: DalleBartConfig, inputs: DecoderStepInputs): Record<string, Tensor> {
  const H = c.decoderHeads;
  const hd = c.dModel / H;
  const B = inputs.ids.length;
  const T = inputs.attentionMask.length / 2;
  const P = inputs.pastSlots ?? 0;
  const feeds: Record<string, Tensor> = {
    [DECODER_INPUTS.inputIds]: int64(ort, inputs.ids, [B]),
    [DECODER_INPUTS.position]: int64(ort, [inputs.position], []),
    [DECODER_INPUTS.attentionMask]: int64(ort, inputs.attentionMask, [2, T]),
  };
  crossAttentionNames(c).forEach(({ key, value }, l) => {
    feeds[key] = new ort.Tensor('float32', inputs.cross[l]!.key, [2, H, hd, T]);
    feeds[value] = new ort.Tensor('float32', inputs.cross[l]!.value, [2, H, T, hd]);
  });
  const { past } = inputs;
  if (past) {
    cacheNames(c, 'past').forEach(({ key, value }, l) => {
      feeds[key] = new ort.Tensor('float32', past[l]!.key, [B, H, hd, P]);
      feeds[value] = new ort.Tensor('float32', past[l]!.value, [B, H, P, hd]);
    });
  }
  return feeds;
}

export function ownDecoderSession(
  ort: OrtApi,
  step: DecoderStep,
  c: DalleBartConfig,
  release: () => Promise<void>,
): Session {
  const H = c.decoderHeads;
  const hd = c.dModel / H;
  const cross = crossAttentionNames(c);
  const past = cacheNames(c, 'past');
  const slots = newSlotNames(c);
  const inputMetadata: Metadata[] = [
    tensorInfo(DECODER_INPUTS.inputIds, 'int64', [BATCH_AXIS]),
    tensorInfo(DECODER_INPUTS.position, 'int64', []),
    tensorInfo(DECODER_INPUTS.attentionMask, 'int64', [2, TEXT_AXIS]),
    ...cross.flatMap(({ key, value }) => [
      tensorInfo(key, 'float32', [2, H, hd, TEXT_AXIS]),
      tensorInfo(value, 'float32', [2, H, TEXT_AXIS, hd]),
    ]),
    // Fed only where the engine does not know this session keeps its own cache (keepsOwnCache): then all the
    // image's slots, not ONNX Runtime's growing axis, so a host cache is allocated once rather than grown by copies.
    ...past.flatMap(({ key, value }) => [
      tensorInfo(key, 'float32', [BATCH_AXIS, H, hd, c.imageLength]),
      tensorInfo(value, 'float32', [BATCH_AXIS, H, c.imageLength, hd]),
    ]),
  ];
  const V = c.imageVocabSize + 1;
  const outputMetadata: Metadata[] = [
    tensorInfo(DECODER_OUTPUTS.logits, 'float32', [BATCH_AXIS, V]),
    ...slots.flatMap(({ key, value }) => [
      tensorInfo(key, 'float32', [BATCH_AXIS, c.dModel]),
      tensorInfo(value, 'float32', [BATCH_AXIS, c.dModel]),
    ]),
  ];
  const outputNames = outputMetadata.map((m) => m.name);
  // ONNX Runtime's run(feeds, options) and run(feeds, fetches, options): fetches are a name list or an object keyed by
  // output names (anything else is run options). Every output is computed anyway; preallocated output tensors are not
  // written into (refused).
  const runNow = (feeds: Readonly<Record<string, Tensor>>, fetches?: unknown): Record<string, Tensor> => {
    let names: readonly string[] | undefined;
    if (Array.isArray(fetches)) names = fetches as string[];
    else if (fetches && typeof fetches === 'object') {
      const wanted = Object.entries(fetches as Record<string, unknown>).filter(([name]) => outputNames.includes(name));
      if (wanted.some(([, tensor]) => tensor !== null))
        throw new Error('the decoder on our own kernels does not write into preallocated outputs');
      if (wanted.length > 0) names = wanted.map(([name]) => name);
    }
    const ids = numbers(feeds[DECODER_INPUTS.inputIds], DECODER_INPUTS.inputIds);
    const firstPast = feeds[past[0]!.key];
    const outputs = step.run({
      ids,
      position: numbers(feeds[DECODER_INPUTS.position], DECODER_INPUTS.position)[0]!,
      attentionMask: numbers(feeds[DECODER_INPUTS.attentionMask], DECODER_INPUTS.attentionMask),
      cross: cross.map(({ key, value }) => ({ key: floats(feeds[key], key), value: floats(feeds[value], value) })),
      // No past.*: the step's own cache (keepsOwnCache), else the caller's.
      ...(firstPast === undefined
        ? {}
        : {
            past: past.map(({ key, value }) => ({ key: floats(feeds[key], key), value: floats(feeds[value], value) })),
            pastSlots: firstPast.dims[3] ?? 0,
          }),
    });
    const B = ids.length;
    const all: Record<string, Tensor> = {
      [DECODER_OUTPUTS.logits]: new ort.Tensor('float32', outputs.logits, [B, V]),
    };
    slots.forEach(({ key, value }, l) => {
      all[key] = new ort.Tensor('float32', outputs.newSlots[l]!.key, [B, c.dModel]);
      all[value] = new ort.Tensor('float32', outputs.newSlots[l]!.value, [B, c.dModel]);
    });
    if (!names) return all;
    return Object.fromEntries(
      names.map((name) => {
        const tensor = all[name];
        if (!tensor) throw new Error(`the decoder has no output ${name}`);
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
    inputMetadata,
    outputMetadata,
    run,
    release,
    startProfiling: () => undefined,
    endProfiling: () => undefined,
  };
  keepingCache.add(session);
  return session;
}
