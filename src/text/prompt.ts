/**
 * A user prompt → the encoder's input row (spec §4): TextNormalizer, then BPE with `<s>`/`</s>`
 * and padding. The unconditional row is the tokenised empty string, never normalised (DM
 * `processor.py`).
 */
import { createRng } from '../pipeline/rng.ts';
import type { BpeTokenizer, EncodedPrompt } from './bpe-tokenizer.ts';
import { normalizeText } from './normalizer.ts';
import type { WordSegmenter } from './word-segmenter.ts';

/** Longer prompts are refused rather than silently cut: only 62 tokens reach the model anyway. */
export const MAX_PROMPT_CHARS = 2000;

/** PRNG stream of the `<person>` draws, apart from the image streams (0, 1, …) of the same seed. */
export const PERSON_STREAM = 0x7e47;

export class PromptError extends Error {
  override name = 'PromptError';
}

export interface PromptOptions {
  /** The generation seed: the same seed and prompt always normalise the same way. */
  seed: number;
  wordFrequencies?: WordSegmenter | null;
  maxLength?: number;
}

export interface PreparedPrompt extends EncodedPrompt {
  /** The normalised text (leading space included) that was tokenised. */
  normalized: string;
}

/** The checks that need no model: the page runs them before a request, the worker again. */
export function checkPromptText(text: string): void {
  if (text.trim() === '') throw new PromptError('Type a prompt to draw');
  const length = [...text].length;
  if (length > MAX_PROMPT_CHARS) {
    throw new PromptError(`The prompt is ${length} characters long; shorten it to at most ${MAX_PROMPT_CHARS}.`);
  }
}

export function preparePrompt(text: string, tokenizer: BpeTokenizer, options: PromptOptions): PreparedPrompt {
  checkPromptText(text);
  const normalized = normalizeText(text, {
    rng: createRng(options.seed, PERSON_STREAM),
    wordFrequencies: options.wordFrequencies ?? null,
  });
  if (normalized.trim() === '') {
    throw new PromptError('The prompt has no words the model can read (only symbols or punctuation?): describe the image in words.');
  }
  return { normalized, ...tokenizer.encodePrompt(normalized, options.maxLength ?? 64) };
}

/** The classifier-free-guidance row: `[<s>, </s>, <pad>…]`. */
export function unconditionalPrompt(tokenizer: BpeTokenizer, maxLength = 64): EncodedPrompt {
  return tokenizer.encodePrompt('', maxLength);
}
