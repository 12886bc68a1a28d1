/**
 * The linear layers one decoder step runs per row, and what their timings mean: the arithmetic rate, the weight
 * read rate, and the ratios the performance issue sets targets on. Pure, so `npm run bench:gemm` has a fast test.
 */
import type { DalleBartConfig } from '../src/model/config.ts';

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

export interface GemmRate {
  /** Arithmetic rate: 2 flops per multiply–add. */
  readonly gflops: number;
  /** The weights' bytes read per second at the kernel's weight type (what bounds a step at few rows). */
  readonly weightGBps: number;
}

export function gemmRate(weights: number, rows: number, ms: number, bytesPerWeight: number): GemmRate {
  return { gflops: (2 * weights * rows) / ms / 1e6, weightGBps: (weights * bytesPerWeight) / ms / 1e6 };
}
