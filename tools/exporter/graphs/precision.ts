/**
 * How weights are stored and which float type the activations use, per export dtype.
 *  - fp32: float32 weights and activations.
 *  - fp16: float16 weights and activations (needs `shader-f16` on WebGPU); logits leave as float32.
 *  - q8:   int8 weights, one scale per output channel, dequantized in-graph; float32 activations.
 *  - q4:   4-bit blockwise weights through com.microsoft MatMulNBits (block 32); float32 activations.
 * The VQGAN always computes in float32 (min-dalle found it needs it); its weights follow the dtype
 * for storage (fp16 → cast at load, q8/q4 → int8 per output channel).
 */
import { MODEL_DTYPES } from '../../../src/model/manifest.ts';
import type { ModelDtype } from '../../../src/model/manifest.ts';

/** The exporter writes every dtype a manifest may name: one list (src/model/manifest.ts). */
export const EXPORT_DTYPES = MODEL_DTYPES;
export type ExportDtype = ModelDtype;

export type ComputeType = 'float32' | 'float16';

export function computeType(dtype: ExportDtype): ComputeType {
  return dtype === 'fp16' ? 'float16' : 'float32';
}

export function isExportDtype(value: string): value is ExportDtype {
  return (EXPORT_DTYPES as readonly string[]).includes(value);
}

/** Additive attention-mask value: the most negative finite number of the compute type. */
export function maskValue(type: ComputeType): number {
  return type === 'float16' ? -65504 : -3.4028234663852886e38;
}
