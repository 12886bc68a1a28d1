/**
 * Our own encoder pass (src/kernels/encoder-pass.ts) behind ONNX Runtime's session interface, with the encoder graph's
 * inputs and outputs, in place of the ONNX Runtime session on WASM for a q8 model (SessionOptions.ownKernels): the
 * weights stay int8 where ONNX Runtime would fold them to float32 (docs/performance.md#the-encoder-on-our-kernels).
 */
import type { DalleBartConfig } from '../model/config.ts';
import type { GraphEntry } from '../model/manifest.ts';
import type { ModelSource } from '../model/model-source.ts';
import { BATCH_AXIS, ENCODER_INPUTS, ENCODER_OUTPUTS, TEXT_AXIS } from '../model/graph-io.ts';
import { EncoderPass } from '../kernels/encoder-pass.ts';
import type { Int8GemmOptions } from '../kernels/int8-gemm.ts';
import { crossMetadata, crossTensors, numbers, ownSession, packOwnGraph, runsOn, tensorInfo } from './own-session.ts';
import type { OrtApi, Session, Tensor } from './runtime.ts';

/** Loads the q8 encoder's weights from its graph file into our kernels; throws for a folder that is not q8. */
export async function createOwnEncoderSession(
  ort: OrtApi,
  source: ModelSource,
  entry: GraphEntry,
  options: Int8GemmOptions = {},
): Promise<Session> {
  const c = source.manifest.dalleBart;
  const { packed, gemm } = await packOwnGraph(source, entry, options, (weights, gemm) =>
    EncoderPass.fromInitializers(c, weights, gemm),
  );
  return runsOn(
    ownEncoderSession(ort, packed, c, () => gemm.release()),
    gemm,
  );
}

export function ownEncoderSession(
  ort: OrtApi,
  pass: EncoderPass,
  c: DalleBartConfig,
  release: () => Promise<void>,
): Session {
  const inputMetadata = [
    tensorInfo(ENCODER_INPUTS.inputIds, 'int64', [BATCH_AXIS, TEXT_AXIS]),
    tensorInfo(ENCODER_INPUTS.attentionMask, 'int64', [BATCH_AXIS, TEXT_AXIS]),
  ];
  const outputMetadata = [
    tensorInfo(ENCODER_OUTPUTS.lastHiddenState, 'float32', [BATCH_AXIS, TEXT_AXIS, c.dModel]),
    ...crossMetadata(c, BATCH_AXIS),
  ];
  const compute = (feeds: Readonly<Record<string, Tensor>>): Record<string, Tensor> => {
    const idsTensor = feeds[ENCODER_INPUTS.inputIds];
    const ids = numbers(idsTensor, ENCODER_INPUTS.inputIds);
    const [B, T] = idsTensor!.dims as [number, number];
    const attentionMask = numbers(feeds[ENCODER_INPUTS.attentionMask], ENCODER_INPUTS.attentionMask);
    const outputs = pass.run({ ids, attentionMask, textLength: T });
    return {
      [ENCODER_OUTPUTS.lastHiddenState]: new ort.Tensor('float32', outputs.lastHiddenState, [B, T, c.dModel]),
      ...crossTensors(ort, c, outputs.cross, B, T),
    };
  };
  return ownSession({ what: 'the encoder', inputMetadata, outputMetadata, compute, release });
}
