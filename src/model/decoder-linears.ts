/**
 * The linear layers one decoder step runs per row (pure): what `npm run bench:gemm` times and what WebGPU
 * dequantizes to float32 once at load for a q8 decoder (src/pipeline/session-options.ts).
 */
import type { DalleBartConfig } from './config.ts';

export interface LinearShape {
  /** What the projection is, e.g. `self q/k/v/out` (one entry per distinct shape and role). */
  readonly role: string;
  readonly inDim: number;
  readonly outDim: number;
  /** How many such projections one step runs (over all layers). */
  readonly count: number;
}

/**
 * Per step, per row: the self-attention's four projections, the cross-attention's query and output (its keys and
 * values come from the encoder once per prompt), the GLU's two input projections and its output, and the LM head.
 */
export function decoderLinearShapes(c: DalleBartConfig): LinearShape[] {
  const d = c.dModel;
  const f = c.decoderFfnDim;
  const layers = c.decoderLayers;
  return [
    { role: 'self q/k/v/out', inDim: d, outDim: d, count: 4 * layers },
    { role: 'cross q/out', inDim: d, outDim: d, count: 2 * layers },
    { role: 'GLU in (two)', inDim: d, outDim: f, count: 2 * layers },
    { role: 'GLU out', inDim: f, outDim: d, count: layers },
    { role: 'LM head', inDim: d, outDim: c.imageVocabSize + 1, count: 1 },
  ];
}

/** Weights read per step = multiply–adds per row. */
export function weightCount(shapes: readonly LinearShape[]): number {
  return shapes.reduce((sum, s) => sum + s.inDim * s.outDim * s.count, 0);
}
