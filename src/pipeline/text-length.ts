/**
 * How many text positions the encoder runs on (docs/model-format.md#text-length). Prompts are
 * tokenized to maxTextLength (64) with padding at the end, and padding is masked as a key in the
 * encoder's self-attention and the decoder's cross-attention, so running only the first L positions
 * gives the unpadded positions the same values and the decoder the same logits, up to float
 * rounding, for a fraction of the work: a prompt is typically 5–20 tokens, the unconditional row 2.
 */
import type { EncodedPrompt } from '../text/bpe-tokenizer.ts';
import type { ModelManifest } from '../model/manifest.ts';

/**
 * Trimmed lengths are rounded up to a multiple of this, so a session sees a few distinct shapes
 * (WebGPU compiles its kernels per shape) for at most 7 padded positions of extra work.
 */
export const TEXT_LENGTH_STEP = 8;

/** Whether both DalleBart graphs take a text axis shorter than maxTextLength (older exports do not). */
export function trimsText(manifest: ModelManifest): boolean {
  const { encoder, decoder } = manifest.graphs;
  return encoder.dynamicTextLength === true && decoder.dynamicTextLength === true;
}

/**
 * The text length to encode `rows` (each of maxTextLength tokens) at: past the last unpadded token of
 * every row, rounded up to TEXT_LENGTH_STEP and at most maxTextLength; maxTextLength itself for a model
 * whose graphs have a fixed text axis.
 */
export function encodedTextLength(manifest: ModelManifest, rows: readonly EncodedPrompt[]): number {
  const T = manifest.dalleBart.maxTextLength;
  if (!trimsText(manifest)) return T;
  const used = Math.max(1, ...rows.map((row) => row.attentionMask.lastIndexOf(1) + 1));
  return Math.min(T, Math.ceil(used / TEXT_LENGTH_STEP) * TEXT_LENGTH_STEP);
}
