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
import type { Int8GemmOptions } from '../kernels/int8-gemm.ts';
import { int64 } from './decoder-run.ts';
import {
  crossMetadata,
  crossTensors,
  floats,
  numbers,
  ownSession,
  packOwnGraph,
  runsOn,
  tensorInfo,
} from './own-session.ts';
import type { OrtApi, Session, Tensor } from './runtime.ts';

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

/**
 * The feed that asks our decoder for guided logits: the super-conditioning scale (float32, a scalar). Every session
 * that keepsOwnCache takes it; fed, `logits` is [n, V], each image's uncond + s · (cond − uncond), mixed before the LM
 * head (DecoderStepInputs.conditionScale). ONNX Runtime's graphs have no such input.
 */
export const CONDITION_SCALE_INPUT = 'condition_scale';

/** Loads the q8 decoder's weights from its graph file into our kernels; throws for a folder that is not q8. */
export async function createOwnDecoderSession(
  ort: OrtApi,
  source: ModelSource,
  entry: GraphEntry,
  options: Int8GemmOptions = {},
): Promise<Session> {
  const { packed, gemm } = await packOwnGraph(source, entry, options, (weights, gemm) =>
    DecoderStep.fromInitializers(source.manifest.dalleBart, weights, gemm),
  );
  return runsOn(
    ownDecoderSession(ort, packed, source.manifest.dalleBart, () => gemm.release()),
    gemm,
  );
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
    ...crossTensors(ort, c, inputs.cross, 2, T),
  };
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
  const inputMetadata = [
    tensorInfo(DECODER_INPUTS.inputIds, 'int64', [BATCH_AXIS]),
    tensorInfo(DECODER_INPUTS.position, 'int64', []),
    tensorInfo(DECODER_INPUTS.attentionMask, 'int64', [2, TEXT_AXIS]),
    ...crossMetadata(c, 2),
    tensorInfo(CONDITION_SCALE_INPUT, 'float32', []),
    // Fed only where the engine does not know this session keeps its own cache (keepsOwnCache): then all the
    // image's slots, not ONNX Runtime's growing axis, so a host cache is allocated once rather than grown by copies.
    ...past.flatMap(({ key, value }) => [
      tensorInfo(key, 'float32', [BATCH_AXIS, H, hd, c.imageLength]),
      tensorInfo(value, 'float32', [BATCH_AXIS, H, c.imageLength, hd]),
    ]),
  ];
  const V = c.imageVocabSize + 1;
  const outputMetadata = [
    tensorInfo(DECODER_OUTPUTS.logits, 'float32', [BATCH_AXIS, V]),
    ...slots.flatMap(({ key, value }) => [
      tensorInfo(key, 'float32', [BATCH_AXIS, c.dModel]),
      tensorInfo(value, 'float32', [BATCH_AXIS, c.dModel]),
    ]),
  ];
  const compute = (feeds: Readonly<Record<string, Tensor>>, fetched?: readonly string[]): Record<string, Tensor> => {
    // A drawing on the step's own cache fetches only the logits: the new slots then cost nothing.
    const newSlots =
      fetched === undefined || slots.some(({ key, value }) => fetched.includes(key) || fetched.includes(value));
    const ids = numbers(feeds[DECODER_INPUTS.inputIds], DECODER_INPUTS.inputIds);
    const firstPast = feeds[past[0]!.key];
    const scale = feeds[CONDITION_SCALE_INPUT];
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
      ...(scale === undefined ? {} : { conditionScale: floats(scale, CONDITION_SCALE_INPUT)[0]! }),
      newSlots,
    });
    const B = ids.length;
    const all: Record<string, Tensor> = {
      [DECODER_OUTPUTS.logits]: new ort.Tensor('float32', outputs.logits, [outputs.logits.length / V, V]),
    };
    if (newSlots)
      slots.forEach(({ key, value }, l) => {
        all[key] = new ort.Tensor('float32', outputs.newSlots[l]!.key, [B, c.dModel]);
        all[value] = new ort.Tensor('float32', outputs.newSlots[l]!.value, [B, c.dModel]);
      });
    return all;
  };
  const session = ownSession({ what: 'the decoder', inputMetadata, outputMetadata, compute, release });
  keepingCache.add(session);
  return session;
}
