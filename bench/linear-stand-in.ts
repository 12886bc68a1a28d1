/**
 * `npm run bench:gemm`'s stand-in for one decoder step's linear layers, written once over the operations it needs so
 * ONNX Runtime's graph and our own kernel (bench/own-linear-stack.ts) run the same chain on the same weights: every
 * projection of a step at the preset's real shapes, in the decoder's order, each layer's q, k and v reading one input
 * (so with int8 activations they share its quantization, as in the decoder), the others chained; variance kept ≈ 1.
 */
import type { DalleBartConfig } from '../src/model/config.ts';
import { decoderLinearShapes, weightCount } from '../src/model/decoder-linears.ts';
import { fillNormal, streamSeed } from '../tools/exporter/prng.ts';
import { GraphBuilder } from '../tools/exporter/onnx/graph-builder.ts';
import { Layers } from '../tools/exporter/graphs/layers.ts';

/** The stand-in's ONNX Runtime weight types; `q8-int8`: q8 with int8 activations (docs/model-format.md). */
export type OrtDtype = 'q8' | 'q8-int8' | 'fp32';

export interface StandInOps<T> {
  /**
   * x · the layer's weights (standInKernel(name, …) makes them; a runner that times several runs makes them once).
   * `head` marks the LM head (kept float with int8 activations elsewhere, as the exporter writes it).
   */
  linear(x: T, name: string, inDim: number, outDim: number, head: boolean): T;
  /** Σ xs · scale */
  sumScaled(xs: T[], scale: number): T;
  mul(a: T, b: T): T;
}

/** Runs the chain on `x` (rows × dModel), returns the logits; checks it used each weight decoderLinearShapes counts. */
export function decoderLinearStandIn<T>(config: DalleBartConfig, ops: StandInOps<T>, x: T): T {
  const d = config.dModel;
  const f = config.decoderFfnDim;
  let written = 0;
  const linear = (input: T, name: string, inDim: number, outDim: number, head = false): T => {
    written += inDim * outDim;
    return ops.linear(input, name, inDim, outDim, head);
  };
  for (let l = 0; l < config.decoderLayers; l++) {
    const qkv = ['self.q', 'self.k', 'self.v'].map((proj) => linear(x, `${l}.${proj}`, d, d));
    x = ops.sumScaled(qkv, 1 / Math.sqrt(3));
    for (const proj of ['self.out', 'cross.q', 'cross.out']) x = linear(x, `${l}.${proj}`, d, d);
    x = linear(ops.mul(linear(x, `${l}.fc0`, d, f), linear(x, `${l}.fc1`, d, f)), `${l}.fc2`, f, d);
  }
  const logits = linear(x, 'lm_head', d, config.imageVocabSize + 1, true);
  if (written !== weightCount(decoderLinearShapes(config)))
    throw new Error(`the stand-in writes ${written} weights, decoderLinearShapes counts another number`);
  return logits;
}

/** The weights of the stand-in's layer `name`: seeded by the name, N(0, 1/inDim). */
export function standInKernel(name: string, inDim: number, outDim: number): Float32Array {
  return fillNormal(new Float32Array(inDim * outDim), streamSeed(1, name), 0, 1 / Math.sqrt(inDim));
}

/** The stand-in as one ONNX graph, written by the exporter's own `Layers.linear`. */
export function linearStack(config: DalleBartConfig, dtype: OrtDtype): Uint8Array {
  const b = new GraphBuilder('decoder_linears', null);
  const layers = dtype === 'q8-int8' ? new Layers(b, 'q8', 'int8-activations') : new Layers(b, dtype);
  // As the exporter writes it: the LM head's activations stay float32 also with int8 ones elsewhere.
  const head = dtype === 'q8-int8' ? new Layers(b, 'q8') : layers;
  const ops: StandInOps<string> = {
    linear: (x, name, inDim, outDim, isHead) =>
      (isHead ? head : layers).linear(x, name, standInKernel(name, inDim, outDim), inDim, outDim),
    sumScaled: (xs, scale) => b.op('Mul', [b.op('Sum', xs), b.scalar('float32', scale)]),
    mul: (x, y) => b.op('Mul', [x, y]),
  };
  const logits = decoderLinearStandIn(config, ops, b.input('x', 'float32', ['rows', config.dModel]));
  b.output('logits', logits, 'float32', ['rows', config.imageVocabSize + 1]);
  return b.serialize();
}
